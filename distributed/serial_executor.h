// SerialExecutor: one background thread that runs submitted tasks one at a time, in order.
//
// A communicator funnels all of its MPI calls through one of these, so its collectives happen in
// exactly the order they were requested on every rank, while the caller (e.g. the autograd engine
// firing gradient hooks) keeps computing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace satclip::dist {

class SerialExecutor {
 public:
  SerialExecutor();
  // Normally finishes the queued tasks, then joins. While an exception unwinds (a failing rank on
  // its way to MPI_Abort) it abandons instead: queued tasks are dropped (their futures report a
  // broken promise) and a task blocked in a collective that the other ranks will never join is
  // left running on a detached thread, so that the destructor never waits on other ranks.
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  // Queues `task`; the future carries its exception, if any.
  std::future<void> submit(std::function<void()> task);

  // Drops the queued tasks and detaches the thread if a task is running (see the destructor).
  void abandon();

  // Seconds the running task has been running; 0 when the thread is idle.
  double busy_seconds() const;

 private:
  struct Queue {  // shared with the thread, which may outlive the executor once abandoned
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::packaged_task<void()>> tasks;
    bool stopping = false;
    bool busy = false;
    std::chrono::steady_clock::time_point busy_since;  // when the running task started
  };
  static void loop(std::shared_ptr<Queue> q);

  std::shared_ptr<Queue> q_;
  std::thread thread_;
};

}  // namespace satclip::dist
