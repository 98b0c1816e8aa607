// satclip-pack --verify (datasets/shard_verify.h): every shard is checked in its own child
// process under limits, and whatever one shard does (refused, stalls, needs too much memory)
// ends up on that shard's line while the others are still verified and the caller goes on.
// The memory limit is tested through satclip-pack (tests/datasets/CMakeLists.txt): it counts address
// space beyond what the parent had mapped, and this test process has freed memory to reuse.
#include <dirent.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/base/text.h"
#include "datasets/shard_verify.h"
#include "datasets/synth.h"
#include "support/data_test_util.h"

using namespace satclip::data;
using satclip::testing::TempDir;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The child processes of `parent`, as the kernel lists those of its main thread (which forks
// them); false when the kernel has no such list (CONFIG_PROC_CHILDREN off).
bool listed_children(std::set<pid_t>& out, pid_t parent = ::getpid()) {
  const std::string p = std::to_string(parent);
  std::ifstream in("/proc/" + p + "/task/" + p + "/children");
  for (pid_t c; in >> c;) out.insert(c);
  return static_cast<bool>(in) || in.eof();
}

// A process's state letter ('R', 'S', 'T' stopped, 'Z' ended but not reaped, ...) and parent, from
// /proc/PID/stat; false when there is no such process.
bool process_state(pid_t pid, char& state, pid_t& parent) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) return false;
  std::istringstream fields(line.substr(line.rfind(')') + 1));  // after the command name: state, ppid
  return static_cast<bool>(fields >> state >> parent);
}

// The same found the slow way: every /proc/N/stat whose parent is `parent`.
std::set<pid_t> scanned_children(pid_t parent = ::getpid()) {
  std::set<pid_t> out;
  DIR* proc = ::opendir("/proc");
  while (const dirent* e = proc ? ::readdir(proc) : nullptr) {
    const pid_t pid = pid_t(std::atol(e->d_name));
    char state = 0;
    pid_t ppid = 0;
    if (pid > 0 && process_state(pid, state, ppid) && ppid == parent) out.insert(pid);
  }
  if (proc) ::closedir(proc);
  return out;
}

std::set<pid_t> children(pid_t parent = ::getpid()) {
  std::set<pid_t> out;
  return listed_children(out, parent) ? out : scanned_children(parent);
}

// Whether process `pid` has `path` open (one of /proc/PID/fd links to it).
bool has_open(pid_t pid, const std::string& path) {
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(fds.c_str());
  bool found = false;
  while (const dirent* e = (dir && !found) ? ::readdir(dir) : nullptr) {
    char target[4096];
    const ssize_t n = ::readlink((fds + "/" + e->d_name).c_str(), target, sizeof(target));
    found = n > 0 && std::string(target, size_t(n)) == path;
  }
  if (dir) ::closedir(dir);
  return found;
}

// Runs `verify` in a fork of this test ("pack", as satclip-pack runs it) that this process
// traces, so that every child pack forks (each a reader) is held from its first instruction
// and never resumed: a reader that makes no progress at all, as one blocked on a hung network
// file system, without a race against it. pack's own stops are resumed at once; a reader ends
// only when pack kills it, and is then passed back to pack to reap. Returns what `verify`
// returned, or, starting with "ptrace", why the tracing could not be set up.
std::string verify_with_held_readers(const std::function<std::string()>& verify) {
  int go[2], result[2];
  if (::pipe(go) != 0 || ::pipe(result) != 0) return "ptrace: no pipe";
  const pid_t pack = ::fork();
  if (pack < 0) return "ptrace: no fork";
  if (pack == 0) {
    ::close(go[1]);
    ::close(result[0]);
    char traced = 0;
    std::string out = ::read(go[0], &traced, 1) == 1 ? "" : "ptrace: not traced";  // wait for the tracer
    ::alarm(60);  // a verifier that waits on its held reader forever ends here
    try {
      if (out.empty()) out = verify();
    } catch (const std::exception& e) {
      out = std::string("threw: ") + e.what();
    }
    ::_exit(::write(result[1], out.data(), out.size()) == ssize_t(out.size()) ? 0 : 1);
  }
  ::close(go[0]);
  ::close(result[1]);
  const bool traced = ::ptrace(PTRACE_SEIZE, pack, nullptr, PTRACE_O_TRACEFORK | PTRACE_O_EXITKILL) == 0;
  const std::string why = traced ? "" : std::string("ptrace: ") + std::strerror(errno);
  if (traced && ::write(go[1], "g", 1) != 1) ::kill(pack, SIGKILL);
  ::close(go[1]);  // untraced, pack reads an end and reports that
  std::set<pid_t> readers;
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(-1, &status, __WALL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 || (w == pack && !WIFSTOPPED(status))) break;  // pack has ended
    if (w != pack) {  // a reader: held at its first stop; later its end, which pack then reaps
      if (WIFSTOPPED(status)) readers.insert(w);
      continue;
    }
    // pack stopped: at a fork (resume it), or for a signal such as SIGCHLD (deliver it).
    const bool event = (status >> 16) != 0;
    ::ptrace(PTRACE_CONT, pack, nullptr, event ? 0 : WSTOPSIG(status));
  }
  for (pid_t r : readers) {  // any that pack did not end (it failed) is not left behind, held
    if (::kill(r, SIGKILL) == 0) ::waitpid(r, nullptr, __WALL);
  }
  std::string out;
  char buf[512];
  for (ssize_t r; (r = ::read(result[0], buf, sizeof(buf))) > 0;) out.append(buf, size_t(r));
  ::close(result[0]);
  if (!why.empty()) return why;
  if (WIFSIGNALED(status)) out += "[pack ended by signal " + std::to_string(WTERMSIG(status)) + "]";
  return out;
}

// While it lives, stops (SIGSTOP) each new child process of the main thread as soon as it
// appears, or, given `opened`, as soon as it has that file open; children from before (MPI's
// orted) are left alone.
class StopNewChildren {
 public:
  explicit StopNewChildren(std::string opened = "")
      : opened_(std::move(opened)), before_(children()), thread_([this] { run(); }) {}
  ~StopNewChildren() {
    done_ = true;
    thread_.join();
  }

 private:
  void run() {
    while (!done_) {
      for (pid_t p : children()) {
        if (before_.count(p) == 0 && (opened_.empty() || has_open(p, opened_))) ::kill(p, SIGSTOP);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  const std::string opened_;
  const std::set<pid_t> before_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

TEST(ShardVerify, EveryTileOfAValidDirectoryIsReadBack) {
  TempDir dir("verify-ok");
  write_synthetic_shards(dir / "d", {10, 16, 3, 1}, 3);
  const VerifyReport r = verify_shard_dir(dir / "d", {});
  ASSERT_EQ(r.shards.size(), 3u);
  EXPECT_EQ(r.failed(), 0);
  EXPECT_EQ(r.tiles(), 10);
  for (const auto& s : r.shards) EXPECT_TRUE(s.problem.empty()) << s.problem;
  EXPECT_EQ(r.shards[1].file, "shard-1-of-3.h5");
}

TEST(ShardVerify, ADamagedShardFailsOnItsOwnLine) {
  TempDir dir("verify-damaged");
  write_synthetic_shards(dir / "d", {9, 16, 3, 1}, 3);
  const std::string bad = dir / "d/shard-1-of-3.h5";
  std::filesystem::resize_file(bad, std::filesystem::file_size(bad) / 2);
  const VerifyReport r = verify_shard_dir(dir / "d", {});
  ASSERT_EQ(r.shards.size(), 3u);
  EXPECT_EQ(r.failed(), 1);
  EXPECT_TRUE(r.shards[0].problem.empty()) << r.shards[0].problem;
  EXPECT_TRUE(r.shards[2].problem.empty()) << r.shards[2].problem;
  EXPECT_TRUE(contains(r.shards[1].problem, bad)) << r.shards[1].problem;
  EXPECT_EQ(r.shards[1].tiles, 0);
  EXPECT_EQ(r.tiles(), 6);
}

TEST(ShardVerify, TheTestFindsItsChildrenEitherWay) {
  // What NoReaderOutlivesItsParent relies on: a new child shows up in both ways of listing them.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::pause();  // until killed
    ::_exit(0);
  }
  std::set<pid_t> listed;
  const bool kernel_lists = listed_children(listed);
  const std::set<pid_t> scanned = scanned_children();
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(scanned.count(pid), 1u);
  if (kernel_lists) {
    EXPECT_EQ(listed, scanned);
  }
}

TEST(ShardVerify, AReaderThatMakesNoProgressIsKilledAtTheDeadline) {
  // The reader never runs an instruction (verify_with_held_readers): killed at the deadline and
  // named, in a wall time near the 1 s limit.
  TempDir dir("verify-stopped");
  write_synthetic_shards(dir / "d", {8, 64, 3, 1}, 1);
  const std::string shard = dir / "d/shard-0-of-1.h5";
  const auto start = std::chrono::steady_clock::now();
  const std::string problem = verify_with_held_readers([&] {
    VerifyOptions o;
    o.timeout_s = 1;
    o.jobs = 1;
    const VerifyReport r = verify_shard_dir(dir / "d", o);
    return r.shards.size() == 1 ? r.shards[0].problem : "shards: " + std::to_string(r.shards.size());
  });
  if (satclip::starts_with(problem, "ptrace")) GTEST_SKIP() << "this machine allows no ptrace of a child: " << problem;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 30.0);
  EXPECT_EQ(problem, shard + ": not done after 1 s (the reader blocks or loops on it)");
}

TEST(ShardVerify, AFifoInPlaceOfAShardIsRefusedWithoutWaiting) {
  // Opening a FIFO waits for a writer forever: it is refused by its type, long before the
  // 600 s deadline, and the other shard is still verified.
  TempDir dir("verify-fifo");
  write_synthetic_shards(dir / "d", {4, 16, 3, 1}, 2);
  const std::string fifo = dir / "d/shard-0-of-2.h5";
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  const VerifyReport r = verify_shard_dir(dir / "d", {});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 30.0);
  ASSERT_EQ(r.shards.size(), 2u);
  EXPECT_EQ(r.shards[0].problem, fifo + ": a FIFO (named pipe), expected a shard as a regular file");
  EXPECT_TRUE(r.shards[1].problem.empty()) << r.shards[1].problem;
}

TEST(ShardVerify, AnUnreadableManifestIsAnErrorNamingIt) {
  TempDir dir("verify-none");
  try {
    verify_shard_dir(dir.str(), {});
    ADD_FAILURE() << "a folder without manifest.json was verified";
  } catch (const satclip::Error& e) {
    EXPECT_TRUE(contains(e.message(), dir / "manifest.json")) << e.message();
  }
}

// --part R/W (satclip-ddp's data.verify gives each rank one): the parts cover every shard once.
TEST(ShardVerify, PartsTakeEveryShardOnce) {
  TempDir dir("verify-parts");
  write_synthetic_shards(dir / "d", {11, 16, 3, 1}, 5);
  std::vector<std::string> seen;
  int64_t tiles = 0;
  for (int part = 0; part < 2; ++part) {
    VerifyOptions o;
    o.part = part;
    o.parts = 2;
    const VerifyReport r = verify_shard_dir(dir / "d", o);
    EXPECT_EQ(r.manifest_shards, 5);
    EXPECT_EQ(r.failed(), 0);
    for (const auto& s : r.shards) seen.push_back(s.file);
    tiles += r.tiles();
  }
  const std::vector<std::string> expected{"shard-0-of-5.h5", "shard-2-of-5.h5", "shard-4-of-5.h5", "shard-1-of-5.h5",
                                          "shard-3-of-5.h5"};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(tiles, 11);
  VerifyOptions bad;
  bad.part = 2;
  bad.parts = 2;
  EXPECT_THROW(verify_shard_dir(dir / "d", bad), satclip::Error);
}

TEST(ShardVerify, NoReaderOutlivesItsParent) {
  // satclip-pack killed mid-verification (or stopped by satclip-ddp on a stop signal): its reader,
  // stalled here by SIGSTOP once it has opened the shard (as on a hung network file system),
  // ends with it instead of being left behind. "pack" is a fork of this test running
  // verify_shard_dir; it may finish before its watcher stops the reader; then try again.
  TempDir dir("verify-orphan");
  write_synthetic_shards(dir / "d", {64, 64, 3, 1}, 1);
  const std::string shard = std::filesystem::canonical(dir / "d/shard-0-of-1.h5").string();
  pid_t reader = -1;
  for (int attempt = 0; attempt < 20 && reader < 0; ++attempt) {
    const pid_t pack = ::fork();
    ASSERT_GE(pack, 0);
    if (pack == 0) {
      StopNewChildren stop(shard);
      VerifyOptions o;
      o.timeout_s = 120;
      o.jobs = 1;
      verify_shard_dir(dir / "d", o);
      ::_exit(0);
    }
    for (int wait_ms = 0; wait_ms < 10000 && reader < 0; ++wait_ms) {
      for (pid_t c : children(pack)) {
        char state = 0;
        pid_t parent = 0;
        if (process_state(c, state, parent) && state == 'T') reader = c;
      }
      if (reader < 0 && ::waitpid(pack, nullptr, WNOHANG) == pack) break;  // done before it was stopped
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::kill(pack, SIGKILL);
    ::waitpid(pack, nullptr, 0);
  }
  ASSERT_GT(reader, 0) << "no stalled reader in 20 attempts";
  char state = 0;
  pid_t parent = 0;
  const auto start = std::chrono::steady_clock::now();
  while (process_state(reader, state, parent) && state != 'Z' &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool gone = !process_state(reader, state, parent) || state == 'Z';
  if (!gone) ::kill(reader, SIGKILL);
  EXPECT_TRUE(gone) << "reader " << reader << " still there (state " << state << ") after its parent was killed";
}
