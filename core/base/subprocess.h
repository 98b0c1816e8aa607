// Running another satclip program from this one and collecting what it prints.
//
// posix_spawn, not fork: the caller may be an MPI rank with CUDA and worker threads, where a
// forked copy of the process is unsafe; the child execs a fresh program at once.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace satclip {

struct ProcessResult {
  int exit_code = -1;   // when it exited, else -1
  int signal = 0;       // the signal that ended it, else 0
  std::string output;   // stdout and stderr interleaved, at most `max_output` bytes
  bool truncated = false;
  bool stopped = false;  // ended early because `stop` asked (see run_process)
  bool ok() const { return exit_code == 0; }
  std::string ending() const;  // "exit status N" or "signal N (name)"
};

// Runs argv[0] (a path) with `argv` and this process's environment, its stdout and stderr into
// one pipe that is read to the end, and waits for it. Throws satclip::Error naming the program
// when it cannot be started.
//
// `stop`, when given, is asked at once and then every kStopPollMs while the program runs (on a
// timer, however much the program prints); once it returns true the program gets SIGTERM, and
// SIGKILL after kStopGraceMs if it has not ended by then (it ignores or blocks SIGTERM, or is
// stopped). The result then has `stopped` set, with whatever it printed so far; the pipe is not
// waited on past the grace time (a process it left behind may hold it open). When `stop` throws,
// the program is killed (SIGKILL) and waited for, and the exception passes on.
inline constexpr int kStopPollMs = 100, kStopGraceMs = 2000;
inline constexpr size_t kDefaultMaxOutput = size_t{1} << 20;  // 1 MiB of output kept
ProcessResult run_process(const std::vector<std::string>& argv, size_t max_output = kDefaultMaxOutput,
                          const std::function<bool()>& stop = {});

// The path of the program `name` in the folder of this executable (/proc/self/exe); throws
// satclip::Error naming the path and `what_for` when there is no executable file there.
std::string sibling_program(const std::string& name, const std::string& what_for);

}  // namespace satclip
