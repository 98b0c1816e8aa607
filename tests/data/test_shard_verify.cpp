// satclip-pack --verify (datasets/shard_verify.h): every shard is checked in its own child
// process under limits, and whatever one shard does (refused, stalls, needs too much memory)
// ends up on that shard's line while the others are still verified and the caller goes on.
// The memory limit is tested through satclip-pack (tests/data/CMakeLists.txt): it counts address
// space beyond what the parent had mapped, and this test process has freed memory to reuse.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "datasets/shard_verify.h"
#include "datasets/synth.h"
#include "data/data_test_util.h"

using namespace satclip::data;
using satclip::testing::TempDir;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The child processes of this process, as the kernel lists those of its main thread (which forks
// them); false when the kernel has no such list (CONFIG_PROC_CHILDREN off).
bool listed_children(std::set<pid_t>& out) {
  const std::string self = std::to_string(::getpid());
  std::ifstream in("/proc/" + self + "/task/" + self + "/children");
  for (pid_t p; in >> p;) out.insert(p);
  return static_cast<bool>(in) || in.eof();
}

// The same found the slow way: every /proc/N/stat whose parent is this process.
std::set<pid_t> scanned_children() {
  std::set<pid_t> out;
  DIR* proc = ::opendir("/proc");
  while (const dirent* e = proc ? ::readdir(proc) : nullptr) {
    const pid_t pid = pid_t(std::atol(e->d_name));
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (pid <= 0 || !std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    std::istringstream fields(line.substr(line.rfind(')') + 1));  // after the command name: state, ppid
    char state = 0;
    pid_t parent = 0;
    if (fields >> state >> parent && parent == ::getpid()) out.insert(pid);
  }
  if (proc) ::closedir(proc);
  return out;
}

std::set<pid_t> children() {
  std::set<pid_t> out;
  return listed_children(out) ? out : scanned_children();
}

// While it lives, stops (SIGSTOP) each new child process of the main thread as soon as it
// appears; children from before (MPI's orted) are left alone.
class StopNewChildren {
 public:
  StopNewChildren() : before_(children()), thread_([this] { run(); }) {}
  ~StopNewChildren() {
    done_ = true;
    thread_.join();
  }

 private:
  void run() {
    while (!done_) {
      for (pid_t p : children()) {
        if (before_.count(p) == 0) ::kill(p, SIGSTOP);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
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
  // What the deadline test below relies on: a new child shows up in both ways of listing them.
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
  // A reader stopped with SIGSTOP uses no CPU time and never finishes, as one blocked on a hung
  // network file system. The child may finish before the watcher stops it; then try again.
  TempDir dir("verify-stopped");
  write_synthetic_shards(dir / "d", {8, 64, 3, 1}, 1);
  const std::string shard = dir / "d/shard-0-of-1.h5";
  VerifyOptions o;
  o.timeout_s = 1;
  o.jobs = 1;
  std::string problem;
  for (int attempt = 0; attempt < 20 && problem.empty(); ++attempt) {
    const auto start = std::chrono::steady_clock::now();
    VerifyReport r;
    {
      StopNewChildren stop;
      r = verify_shard_dir(dir / "d", o);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(secs, 30.0);
    ASSERT_EQ(r.shards.size(), 1u);
    problem = r.shards[0].problem;
  }
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
