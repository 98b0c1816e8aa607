// run_process (core/base/subprocess.h): another program's exit, signal and output, as data.verify
// relies on them.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "core/base/error.h"
#include "core/base/subprocess.h"

using satclip::run_process;

TEST(Subprocess, ExitStatusAndBothStreamsComeBack) {
  const auto r = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.output, "out\nerr\n");
  EXPECT_EQ(r.ending(), "exit status 3");
}

TEST(Subprocess, ASignalIsReportedAsSuch) {
  const auto r = run_process({"/bin/sh", "-c", "kill -9 $$"});
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.signal, 9);
  EXPECT_NE(r.ending().find("signal 9"), std::string::npos) << r.ending();
}

TEST(Subprocess, OutputIsCappedButReadToTheEnd) {
  // 100,000 bytes into a 10-byte cap: the child is not blocked on a full pipe, and exits 0.
  const auto r = run_process({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"}, 10);
  EXPECT_TRUE(r.ok()) << r.ending();
  EXPECT_EQ(r.output, std::string(10, 'x'));
  EXPECT_TRUE(r.truncated);
}

TEST(Subprocess, AMissingProgramIsAnErrorNamingIt) {
  try {
    run_process({"/nonexistent/satclip-pack", "--verify", "x"});
    ADD_FAILURE() << "a missing program was started";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("/nonexistent/satclip-pack"), std::string::npos) << e.message();
  }
  try {
    satclip::sibling_program("satclip-no-such-program", "data.verify");
    ADD_FAILURE() << "a missing sibling program was found";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("satclip-no-such-program, which is missing"), std::string::npos) << e.message();
  }
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(Subprocess, AStopRequestEndsTheProgramWithSigterm) {
  // `stop` turns true once the program has printed; it would otherwise sleep for a minute.
  const auto start = std::chrono::steady_clock::now();
  int asked = 0;
  const auto r = run_process({"/bin/sh", "-c", "echo started; exec sleep 60"}, 1 << 20, [&] {
    ++asked;
    return seconds_since(start) > 0.3;
  });
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.signal, SIGTERM) << r.ending();  // not SIGKILL: it ended within the grace time
  EXPECT_EQ(r.output, "started\n");
  EXPECT_GE(asked, 2);  // asked again while it ran, not once
}

TEST(Subprocess, AProgramThatIgnoresTheStopIsKilledAfterTheGraceTime) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_process({"/bin/sh", "-c", "trap '' TERM; echo started; exec sleep 60"}, 1 << 20,
                             [&] { return seconds_since(start) > 0.3; });
  const double secs = seconds_since(start);
  EXPECT_GE(secs, 0.3 + satclip::kStopGraceMs / 1000.0);
  EXPECT_LT(secs, 0.3 + 5 * satclip::kStopGraceMs / 1000.0);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.signal, SIGKILL) << r.ending();
  EXPECT_EQ(r.output, "started\n");
}

TEST(Subprocess, AStopThatNeverComesChangesNothing) {
  const auto r = run_process({"/bin/sh", "-c", "sleep 0.3; echo done; exit 4"}, 1 << 20, [] { return false; });
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.output, "done\n");
}

TEST(Subprocess, StopIsAskedOnATimerNotOncePerRead) {
  // About 1 MB of output in 4 KB reads over half a second: asked about every 100 ms, not per read
  // (data.verify's `stop` is a collective of all ranks).
  const auto start = std::chrono::steady_clock::now();
  int asked = 0;
  const auto r = run_process({"/bin/sh", "-c", "for i in 1 2 3 4 5; do head -c 200000 /dev/zero; sleep 0.1; done"},
                             16, [&] {
                               ++asked;
                               return false;
                             });
  const double secs = seconds_since(start);
  EXPECT_TRUE(r.ok()) << r.ending();
  EXPECT_TRUE(r.truncated);
  EXPECT_GE(asked, 2);
  EXPECT_LE(asked, int(secs * 1000 / satclip::kStopPollMs) + 2) << "in " << secs << " s";
}

TEST(Subprocess, AStopThatThrowsKillsAndWaitsForTheProgram) {
  // The program writes its pid, then would sleep for a minute; `stop` throws once the pid is there.
  char dir[] = "/tmp/subprocess-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string pid_file = std::string(dir) + "/pid";
  pid_t pid = 0;
  try {
    run_process({"/bin/sh", "-c", "echo $$ > " + pid_file + ".tmp && mv " + pid_file + ".tmp " + pid_file +
                                      " && exec sleep 60"},
                satclip::kDefaultMaxOutput, [&] {
                  if (FILE* f = std::fopen(pid_file.c_str(), "r")) {
                    const int got = std::fscanf(f, "%d", &pid);
                    std::fclose(f);
                    if (got == 1) throw std::runtime_error("the ranks could not agree");
                  }
                  return false;
                });
    ADD_FAILURE() << "the exception from stop did not pass on";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "the ranks could not agree");
  }
  ASSERT_GT(pid, 0);
  // Reaped: not even a zombie is left under this pid.
  const bool gone = ::kill(pid, 0) != 0 && errno == ESRCH;
  EXPECT_TRUE(gone) << "the program " << pid << " outlived run_process";
  if (!gone) ::kill(pid, SIGKILL);
  std::remove(pid_file.c_str());
  ::rmdir(dir);
}
