#include "distributed/serial_executor.h"

#include <exception>

namespace satclip::dist {

SerialExecutor::SerialExecutor() : q_(std::make_shared<Queue>()), thread_([q = q_] { loop(q); }) {}

SerialExecutor::~SerialExecutor() {
  if (std::uncaught_exceptions() > 0) {
    abandon();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(q_->mutex);
    q_->stopping = true;
  }
  q_->cv.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SerialExecutor::abandon() {
  bool busy = false;
  {
    std::lock_guard<std::mutex> lock(q_->mutex);
    q_->stopping = true;
    q_->tasks.clear();  // their futures now hold std::future_error (broken promise)
    busy = q_->busy;
  }
  q_->cv.notify_one();
  if (!thread_.joinable()) return;
  if (busy) {
    thread_.detach();  // blocked on other ranks; the job is about to be aborted
  } else {
    thread_.join();    // idle: it sees `stopping` and an empty queue, and returns at once
  }
}

std::future<void> SerialExecutor::submit(std::function<void()> task) {
  std::packaged_task<void()> packaged(std::move(task));
  auto future = packaged.get_future();
  {
    std::lock_guard<std::mutex> lock(q_->mutex);
    q_->tasks.push_back(std::move(packaged));
  }
  q_->cv.notify_one();
  return future;
}

double SerialExecutor::busy_seconds() const {
  std::lock_guard<std::mutex> lock(q_->mutex);
  if (!q_->busy) return 0.0;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - q_->busy_since).count();
}

void SerialExecutor::loop(std::shared_ptr<Queue> q) {
  for (;;) {
    std::packaged_task<void()> task;
    {
      std::unique_lock<std::mutex> lock(q->mutex);
      q->busy = false;
      q->cv.wait(lock, [&] { return q->stopping || !q->tasks.empty(); });
      if (q->tasks.empty()) return;  // stopping and drained
      task = std::move(q->tasks.front());
      q->tasks.pop_front();
      q->busy = true;
      q->busy_since = std::chrono::steady_clock::now();
    }
    task();  // exceptions are stored in the task's future
  }
}

}  // namespace satclip::dist
