#include "datasets/shard_verify.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>
#include <thread>

#include "core/base/error.h"
#include "datasets/h5_shards.h"
#include "datasets/manifest.h"

namespace satclip::data {

namespace {

using Clock = std::chrono::steady_clock;

// Exit codes of a child; a signal or any other code is reported as such.
constexpr int kValid = 0, kRefused = 3, kOutOfMemory = 4, kFailed = 5;
constexpr size_t kMaxMessage = 4096;  // bytes a child may report
constexpr int kMaxDefaultJobs = 8;

// Bytes of address space mapped now (the first field of /proc/self/statm, in pages).
uint64_t mapped_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long long pages = 0;
  if (f) {
    if (std::fscanf(f, "%llu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return uint64_t(pages) * uint64_t(::sysconf(_SC_PAGESIZE));
}

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    done += size_t(w);
  }
}

// The child: limits first, then the reader over every tile. Never returns.
[[noreturn]] void run_child(int fd, const std::string& path, const Manifest& m, int64_t count,
                            const VerifyOptions& o, uint64_t address_limit, pid_t parent) {
  // Ends with the parent, however it ends (satclip-pack stopped by data.verify's caller, or
  // killed): no reader is left behind. A parent that ended before this line is seen by getppid().
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(kFailed);
  const rlimit no_core{0, 0};
  const rlimit cpu{rlim_t(o.timeout_s), rlim_t(o.timeout_s) + 1};
  const rlimit as{rlim_t(address_limit), rlim_t(address_limit)};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::setrlimit(RLIMIT_CPU, &cpu);
  ::setrlimit(RLIMIT_AS, &as);
  int code = kValid;
  std::string message;
  try {
    const ShardReader reader(path, m, count);
    std::vector<uint16_t> tile(size_t(m.channels) * size_t(m.height) * size_t(m.width));
    std::vector<uint8_t> scratch;
    for (int64_t i = 0; i < reader.count(); ++i) reader.read_tile(i, tile.data(), scratch);
    message = std::to_string(reader.count());
  } catch (const std::bad_alloc&) {
    code = kOutOfMemory;
  } catch (const Error& e) {
    code = kRefused;
    message = e.message();
  } catch (const std::exception& e) {
    code = kFailed;
    message = e.what();
  } catch (...) {
    code = kFailed;
  }
  write_all(fd, message.substr(0, kMaxMessage));
  ::_exit(code);  // no atexit handlers, no flush of the parent's buffers
}

struct Child {
  size_t shard = 0;  // its verdict's index in the report
  pid_t pid = -1;
  int fd = -1;
  std::string message;
  Clock::time_point deadline;
  bool killed = false;  // by us, at the deadline
};

// Owns the running children: should the parent throw, they are killed and reaped, not left behind.
struct Children {
  std::vector<Child> list;
  ~Children() {
    for (const auto& c : list) {
      ::kill(c.pid, SIGKILL);
      while (::waitpid(c.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      ::close(c.fd);
    }
  }
};

std::string verdict_problem(const Child& c, int status, const std::string& path, const VerifyOptions& o) {
  if (c.killed) return cat(path, ": not done after ", o.timeout_s, " s (the reader blocks or loops on it)");
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGXCPU) return cat(path, ": more than ", o.timeout_s, " s of CPU time (the reader loops on it)");
    if (sig == SIGKILL) {
      return cat(path, ": the reader was killed (signal 9: past the CPU-time limit of ", o.timeout_s,
                 " s, or by the kernel when memory ran out)");
    }
    return cat(path, ": the reader crashed on it (signal ", sig, ", ", strsignal(sig),
               "): the file is damaged or crafted");
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == kValid) return "";
  if (code == kRefused) return c.message;
  if (code == kOutOfMemory) return cat(path, ": reading it needs more than ", o.max_memory_mib, " MiB of memory");
  return cat(path, ": the reader failed (exit ", code, (c.message.empty() ? "" : ": "), c.message, ")");
}

// Forks the child for shard `index` of `m`; the parent keeps the read end of its pipe.
Child start_child(const std::string& dir, const Manifest& m, size_t index, const VerifyOptions& o,
                  uint64_t address_limit) {
  int fds[2];
  SATCLIP_CHECK(::pipe2(fds, O_CLOEXEC) == 0, cat("shard verification: pipe: ", std::strerror(errno)), "");
  const std::string path = dir + "/" + m.shards[index].file;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    run_child(fds[1], path, m, m.shards[index].count, o, address_limit, parent);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    SATCLIP_FAIL(cat("shard verification: fork: ", std::strerror(errno)), "too many processes? retry with --threads 1");
  }
  return {index, pid, fds[0], "", Clock::now() + std::chrono::seconds(o.timeout_s), false};
}

// Reaps `c` (its pipe has ended) and writes its verdict.
void finish_child(const Child& c, const std::string& dir, const VerifyOptions& o, ShardVerdict& verdict) {
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::close(c.fd);
  verdict.problem = verdict_problem(c, status, dir + "/" + verdict.file, o);
  if (verdict.problem.empty()) verdict.tiles = std::strtoll(c.message.c_str(), nullptr, 10);
}

}  // namespace

int64_t VerifyReport::tiles() const {
  int64_t n = 0;
  for (const auto& s : shards) n += s.tiles;
  return n;
}

int64_t VerifyReport::failed() const {
  return std::count_if(shards.begin(), shards.end(), [](const ShardVerdict& s) { return !s.problem.empty(); });
}

std::string verdict_line(const std::string& dir, const ShardVerdict& v) {
  if (!v.problem.empty()) return kVerifyFailedMark + v.problem;
  return cat("  ok      ", dir, "/", v.file, ": ", v.tiles, " tiles");
}

VerifyReport verify_shard_dir(const std::string& dir, const VerifyOptions& o) {
  SATCLIP_CHECK(o.max_memory_mib > 0 && o.max_memory_mib <= kMaxVerifyMemoryMib && o.timeout_s > 0 &&
                    o.timeout_s <= kMaxVerifySeconds && o.jobs >= 0 && o.parts >= 1 && o.part >= 0 &&
                    o.part < o.parts,
                cat("shard verification: memory limit ", o.max_memory_mib, " MiB, time limit ", o.timeout_s, " s, ",
                    o.jobs, " jobs and part ", o.part, "/", o.parts, ": out of range"), "");
  const Manifest m = read_manifest(dir + "/manifest.json");
  VerifyReport report;
  report.dir = dir;
  report.manifest_shards = int64_t(m.shards.size());
  std::vector<size_t> mine;  // manifest indices, in the report's order
  for (size_t i = size_t(o.part); i < m.shards.size(); i += size_t(o.parts)) {
    mine.push_back(i);
    report.shards.push_back({m.shards[i].file, 0, ""});
  }
  const size_t jobs = size_t(o.jobs > 0 ? o.jobs
                                        : std::clamp(int(std::thread::hardware_concurrency()), 1, kMaxDefaultJobs));
  const uint64_t address_limit = mapped_bytes() + (uint64_t(o.max_memory_mib) << 20);
  Children children;
  auto& running = children.list;
  size_t next = 0;
  while (next < mine.size() || !running.empty()) {
    while (next < mine.size() && running.size() < jobs) {
      running.push_back(start_child(dir, m, mine[next], o, address_limit));
      running.back().shard = next++;
    }
    std::vector<pollfd> polls;
    auto wake = Clock::time_point::max();
    for (const auto& c : running) {
      polls.push_back({c.fd, POLLIN, 0});
      wake = std::min(wake, c.deadline);
    }
    const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count();
    if (::poll(polls.data(), polls.size(), int(std::clamp<int64_t>(wait_ms + 1, 0, 1000))) < 0 && errno != EINTR) {
      SATCLIP_FAIL(cat("shard verification: poll: ", std::strerror(errno)), "");
    }
    for (size_t k = 0; k < running.size();) {
      Child& c = running[k];
      bool done = false;
      if (polls[k].revents != 0) {
        char buf[1024];
        const ssize_t r = ::read(c.fd, buf, sizeof(buf));
        if (r > 0 && c.message.size() < kMaxMessage) c.message.append(buf, size_t(r));
        done = r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN);
      }
      if (!done && !c.killed && Clock::now() >= c.deadline) {
        ::kill(c.pid, SIGKILL);  // its pipe then reports the end
        c.killed = true;
      }
      if (!done) {
        ++k;
        continue;
      }
      finish_child(c, dir, o, report.shards[c.shard]);
      polls.erase(polls.begin() + std::ptrdiff_t(k));
      running.erase(running.begin() + std::ptrdiff_t(k));
    }
  }
  return report;
}

}  // namespace satclip::data
