// StallWatchdog and SerialExecutor::busy_seconds: what the MPI communicator's lost-peer watchdog is
// made of (the whole path, a node killed mid-step, runs in tests/slurm/lose_node.sh).
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "distributed/serial_executor.h"
#include "distributed/stall_watchdog.h"

using namespace std::chrono_literals;
using satclip::dist::SerialExecutor;
using satclip::dist::StallWatchdog;

TEST(StallWatchdog, FiresOnceWhenTheOperationOutlivesTheLimit) {
  std::atomic<double> age{0.0};
  std::atomic<int> calls{0};
  std::atomic<double> seen{0.0};
  {
    StallWatchdog dog([&] { return age.load(); }, 5.0, [&](double a) { seen = a; ++calls; }, 0.01);
    age = 4.9;  // below the limit: nothing
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(calls.load(), 0);
    age = 5.5;
    for (int i = 0; i < 200 && calls.load() == 0; ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(100ms);  // it would fire again here if it did not stop
  }
  EXPECT_EQ(calls.load(), 1);
  EXPECT_DOUBLE_EQ(seen.load(), 5.5);
}

TEST(StallWatchdog, StopsAtOnceAndIsOffWithoutALimit) {
  std::atomic<int> calls{0};
  const auto t0 = std::chrono::steady_clock::now();
  { StallWatchdog dog([] { return 1e9; }, 0.0, [&](double) { ++calls; }, 0.01); }        // no limit: no thread
  { StallWatchdog dog([] { return 0.0; }, 1.0, [&](double) { ++calls; }, /*poll_s=*/60.0); }  // joins without polling
  EXPECT_EQ(calls.load(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(SerialExecutor, BusySecondsIsTheRunningTasksAge) {
  SerialExecutor executor;
  EXPECT_EQ(executor.busy_seconds(), 0.0);
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto done = executor.submit([gate] { gate.wait(); });
  std::this_thread::sleep_for(300ms);
  const double busy = executor.busy_seconds();
  EXPECT_GE(busy, 0.25);
  EXPECT_LT(busy, 30.0);
  release.set_value();
  done.get();
  for (int i = 0; i < 100 && executor.busy_seconds() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(executor.busy_seconds(), 0.0);
}
