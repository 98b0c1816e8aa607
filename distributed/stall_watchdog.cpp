#include "distributed/stall_watchdog.h"

#include <chrono>

namespace satclip::dist {

StallWatchdog::StallWatchdog(std::function<double()> age, double limit_s, std::function<void(double)> on_stall,
                             double poll_s)
    : age_(std::move(age)), limit_s_(limit_s), on_stall_(std::move(on_stall)), poll_s_(poll_s) {
  if (limit_s_ > 0) thread_ = std::thread([this] { loop(); });
}

StallWatchdog::~StallWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void StallWatchdog::loop() {
  const auto poll = std::chrono::duration<double>(poll_s_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, poll, [this] { return stopping_; })) {
    const double age = age_();
    if (age > limit_s_) {
      lock.unlock();
      on_stall_(age);
      return;
    }
  }
}

}  // namespace satclip::dist
