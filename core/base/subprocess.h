// Running another satclip program from this one and collecting what it prints.
//
// posix_spawn, not fork: the caller may be an MPI rank with CUDA and worker threads, where a
// forked copy of the process is unsafe; the child execs a fresh program at once.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace satclip {

struct ProcessResult {
  int exit_code = -1;   // when it exited, else -1
  int signal = 0;       // the signal that ended it, else 0
  std::string output;   // stdout and stderr interleaved, at most `max_output` bytes
  bool truncated = false;
  bool ok() const { return exit_code == 0; }
  std::string ending() const;  // "exit status N" or "signal N (name)"
};

// Runs argv[0] (a path) with `argv` and this process's environment, its stdout and stderr into
// one pipe that is read to the end, and waits for it. Throws satclip::Error naming the program
// when it cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, size_t max_output = size_t{1} << 20);

// The path of the program `name` in the folder of this executable (/proc/self/exe); throws
// satclip::Error naming the path and `what_for` when there is no executable file there.
std::string sibling_program(const std::string& name, const std::string& what_for);

}  // namespace satclip
