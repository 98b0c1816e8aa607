// StallWatchdog: a thread that polls how long an operation has been running and, the first time
// that exceeds a limit, calls a handler (which normally aborts the job).
//
// The MPI communicator watches the collective its executor is running: a peer that disappears
// without closing its connections (a node that is lost, a cut link) leaves the surviving ranks
// waiting inside MPI for ever, and no MPI error reaches them.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace satclip::dist {

class StallWatchdog {
 public:
  // `age()`: seconds the watched operation has been running, 0 when none runs; polled every
  // `poll_s` seconds on the watchdog's thread. `on_stall(age)` runs once, on that thread, when
  // age() > limit_s. limit_s <= 0 starts no thread.
  StallWatchdog(std::function<double()> age, double limit_s, std::function<void(double)> on_stall,
                double poll_s = 0.5);
  // Stops and joins the thread; it only ever waits on its own timer, so this never blocks on
  // other ranks (unless on_stall is running, which does not return when it aborts the job).
  ~StallWatchdog();
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;

 private:
  void loop();

  std::function<double()> age_;
  double limit_s_;
  std::function<void(double)> on_stall_;
  double poll_s_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace satclip::dist
