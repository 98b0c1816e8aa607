// OrderedWork: work(j) for j = 0 .. n-1 computed on worker threads, handed back in order by
// next(). At most `window` results wait or are in progress ahead of the consumer (a memory bound);
// an exception thrown by work(j) is caught on its worker and rethrown by the next() that takes j.
// The destructor stops the workers (calls in progress finish) and joins them; it never waits on
// anything but its own threads.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "core/base/error.h"

namespace satclip {

template <class T>
class OrderedWork {
 public:
  OrderedWork(int64_t n, int threads, int64_t window, std::function<T(int64_t)> work)
      : n_(n), window_(std::max<int64_t>(window, 1)), work_(std::move(work)), slots_(size_t(window_)) {
    for (int w = 0; w < std::max(threads, 1); ++w) pool_.emplace_back([this] { run(); });
  }
  ~OrderedWork() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : pool_) t.join();
  }
  OrderedWork(const OrderedWork&) = delete;
  OrderedWork& operator=(const OrderedWork&) = delete;

  // The result of the next j in order, waiting for it; rethrows what work(j) threw.
  T next() {
    Slot taken;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      SATCLIP_CHECK(taken_ < n_, cat("OrderedWork: all ", n_, " results were taken"), "");
      Slot& slot = slots_[size_t(taken_ % window_)];
      cv_.wait(lock, [&] { return slot.done; });
      taken = std::move(slot);
      slot = Slot();
      ++taken_;
    }
    cv_.notify_all();
    if (taken.error) std::rethrow_exception(taken.error);
    return std::move(*taken.value);
  }

 private:
  struct Slot {
    bool done = false;
    std::optional<T> value;
    std::exception_ptr error;
  };

  void run() {
    for (;;) {
      int64_t j;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || started_ >= n_ || started_ < taken_ + window_; });
        if (stop_ || started_ >= n_) return;
        j = started_++;
      }
      Slot slot;
      slot.done = true;
      try {
        slot.value.emplace(work_(j));
      } catch (...) {  // never let an exception end a worker thread (std::terminate)
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        slots_[size_t(j % window_)] = std::move(slot);
      }
      cv_.notify_all();
    }
  }

  const int64_t n_, window_;
  std::function<T(int64_t)> work_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int64_t started_ = 0, taken_ = 0;
  bool stop_ = false;
  std::vector<std::thread> pool_;  // last: the threads start once everything else exists
};

}  // namespace satclip
