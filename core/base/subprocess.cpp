#include "core/base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "core/base/error.h"

extern char** environ;

namespace satclip {

namespace {

// Closes the descriptors it holds; the pipe's ends are closed as soon as they are handed over.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

// Waits for the child `pid` to end; its wait status.
int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Milliseconds from now until `t`, rounded up (0 when it has passed), for poll's timeout.
int until(std::chrono::steady_clock::time_point t) {
  const auto left = t - std::chrono::steady_clock::now();
  return left.count() <= 0 ? 0 : int(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

}  // namespace

std::string ProcessResult::ending() const {
  if (signal != 0) return cat("signal ", signal, " (", strsignal(signal), ")");
  return cat("exit status ", exit_code);
}

ProcessResult run_process(const std::vector<std::string>& argv, size_t max_output,
                          const std::function<bool()>& stop) {
  SATCLIP_CHECK(!argv.empty(), "run_process: no program given", "");
  int fds[2];
  SATCLIP_CHECK(::pipe2(fds, O_CLOEXEC) == 0, cat(argv[0], ": pipe: ", std::strerror(errno)), "");
  Fd read_end{fds[0]}, write_end{fds[1]};
  SpawnSetup sa;
  // dup2 clears close-on-exec on the copies, so the child keeps 1 and 2 and nothing else.
  posix_spawn_file_actions_adddup2(&sa.actions, write_end.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&sa.actions, write_end.fd, STDERR_FILENO);
  // A clean start whatever this thread blocks or this process ignores: no blocked signal, every
  // signal at its default action.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&sa.attr, &none);
  posix_spawnattr_setsigdefault(&sa.attr, &all);
  posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &sa.actions, &sa.attr, args.data(), environ);
  SATCLIP_CHECK(rc == 0, cat("cannot start ", argv[0], ": ", std::strerror(rc)),
                "check that the program exists and is executable");
  ::close(write_end.fd);  // the child's copies end the pipe when it exits
  write_end.fd = -1;
  ProcessResult r;
  using Clock = std::chrono::steady_clock;
  using Ms = std::chrono::milliseconds;
  Clock::time_point ask_at = Clock::now();  // when to ask `stop` next: at once, then every kStopPollMs
  Clock::time_point kill_at{};              // when SIGKILL follows the SIGTERM of a stop
  char buf[4096];
  for (;;) {
    int wait_ms = -1;  // poll's timeout: until the next question or the SIGKILL, or none
    if (stop && !r.stopped) {
      // On a timer, not once per read: a program that prints a lot does not make `stop` (which
      // may be a collective of all ranks) run more often.
      if (Clock::now() >= ask_at) {
        ask_at = Clock::now() + Ms(kStopPollMs);
        bool yes = false;
        try {
          yes = stop();
        } catch (...) {  // the program must not outlive this call
          ::kill(pid, SIGKILL);
          reap(pid);
          throw;
        }
        if (yes) {
          ::kill(pid, SIGTERM);
          r.stopped = true;
          kill_at = Clock::now() + Ms(kStopGraceMs);
        }
      }
      if (!r.stopped) wait_ms = until(ask_at);
    }
    if (r.stopped) {
      if (Clock::now() >= kill_at) {
        ::kill(pid, SIGKILL);  // not reaped yet, so the pid is still this child's
        break;
      }
      wait_ms = until(kill_at);
    }
    pollfd ready{read_end.fd, POLLIN, 0};
    const int polled = ::poll(&ready, 1, wait_ms);
    if (polled < 0 && errno != EINTR) break;
    if (polled <= 0) continue;  // time to ask `stop` again, or a signal arrived
    const ssize_t n = ::read(read_end.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const size_t room = max_output - std::min(max_output, r.output.size());
    r.output.append(buf, std::min(room, size_t(n)));
    r.truncated = r.truncated || size_t(n) > room;
  }
  const int status = reap(pid);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

std::string sibling_program(const std::string& name, const std::string& what_for) {
  // readlink, not std::filesystem: see fs_util.h on libtorch's copy of it.
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  SATCLIP_CHECK(n > 0,
                cat("cannot find this program's folder (/proc/self/exe: ", std::strerror(errno), ") to run ", name),
                cat("run ", name, " yourself instead (", what_for, ")"));
  const std::string exe(self, size_t(n));
  const std::string path = exe.substr(0, exe.rfind('/') + 1) + name;
  SATCLIP_CHECK(::access(path.c_str(), X_OK) == 0,
                cat(what_for, " runs ", path, ", which is missing (", std::strerror(errno), ")"),
                cat("build it beside this program (cmake --build build --target ", name, ")"));
  return path;
}

}  // namespace satclip
