// run_process (core/base/subprocess.h): another program's exit, signal and output, as data.verify
// relies on them.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

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
