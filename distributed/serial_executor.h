// SerialExecutor: one background thread that runs submitted tasks one at a time, in order.
//
// A communicator funnels all of its MPI calls through one of these, so its collectives happen in
// exactly the order they were requested on every rank, while the caller (e.g. the autograd engine
// firing gradient hooks) keeps computing.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace satclip::dist {

class SerialExecutor {
 public:
  SerialExecutor();
  ~SerialExecutor();  // finishes the queued tasks, then joins
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  // Queues `task`; the future carries its exception, if any.
  std::future<void> submit(std::function<void()> task);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace satclip::dist
