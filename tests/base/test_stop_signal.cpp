// Stop signals (core/base/stop_signal.h): the first one wins, and the ranks' exchanged signals
// become one StoppedBeforeTraining naming the first rank that has one.
#include <gtest/gtest.h>
#include <signal.h>

#include "core/base/stop_signal.h"

using satclip::StoppedBeforeTraining;
using satclip::throw_if_any_stopped;

TEST(StopSignal, TheFirstSignalIsKeptAndLaterOnesDoNotReplaceIt) {
  satclip::install_stop_handlers();
  ASSERT_EQ(satclip::stop_signal(), 0);
  ASSERT_EQ(::raise(SIGUSR1), 0);  // handled: the process goes on
  EXPECT_EQ(satclip::stop_signal(), SIGUSR1);
  ASSERT_EQ(::raise(SIGTERM), 0);
  EXPECT_EQ(satclip::stop_signal(), SIGUSR1);
  EXPECT_STREQ(satclip::signal_name(SIGTERM), "SIGTERM");
  EXPECT_STREQ(satclip::signal_name(SIGINT), "SIGINT");
}

TEST(StopSignal, NoRankWithASignalMeansNoThrow) {
  EXPECT_NO_THROW(throw_if_any_stopped({}, "during data.verify"));
  EXPECT_NO_THROW(throw_if_any_stopped({0, 0, 0}, "during data.verify"));
}

TEST(StopSignal, TheFirstRankWithASignalIsNamed) {
  try {
    throw_if_any_stopped({0, SIGTERM, SIGUSR1}, "during data.verify");
    ADD_FAILURE() << "no throw";
  } catch (const StoppedBeforeTraining& e) {
    EXPECT_STREQ(e.what(), "SIGTERM received during data.verify (rank 1)");
  }
  try {
    throw_if_any_stopped({SIGUSR1}, "while building the feature cache");
    ADD_FAILURE() << "no throw";
  } catch (const StoppedBeforeTraining& e) {
    EXPECT_STREQ(e.what(), "SIGUSR1 received while building the feature cache (rank 0)");
  }
}
