// MpiCommunicator: collectives over MPI for CPU tensors; CUDA tensors are staged through host
// memory, and bfloat16/float16 are reduced in float32.
//
// It owns a duplicate of the parent MPI communicator and one SerialExecutor thread through which
// every MPI call goes, so asynchronous all-reduces (gradient buckets) and blocking collectives keep
// one order on every rank. Each collective first exchanges (rows, row size, dtype) so that a rank
// passing a mismatched tensor gets a clear error on every rank instead of a hang. With a timeout, a
// StallWatchdog aborts the job when one MPI call runs longer (a lost peer: Open MPI reports a
// vanished node's ranks to nobody, and the survivors would wait in MPI for ever).
#pragma once

#include <memory>

#include <mpi.h>

#include "distributed/communicator.h"
#include "distributed/serial_executor.h"
#include "distributed/stall_watchdog.h"

namespace satclip::dist {

class MpiCommunicator final : public Communicator {
 public:
  // Duplicates `parent` (collective over parent's ranks). timeout_s > 0: an MPI call that runs
  // longer aborts the job (distributed.timeout_s); 0: no watchdog.
  explicit MpiCommunicator(MPI_Comm parent, double timeout_s = 0);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  WorkPtr all_reduce_async(torch::Tensor t, ReduceOp op) override;
  using Communicator::all_gather;
  torch::Tensor all_gather(const torch::Tensor& t, const std::vector<int64_t>& sizes) override;
  std::vector<int64_t> all_gather_sizes(int64_t n) override;
  torch::Tensor reduce_scatter(const torch::Tensor& t, const std::vector<int64_t>& counts,
                               ReduceOp op) override;
  void broadcast(torch::Tensor t, int root) override;
  void barrier() override;
  std::unique_ptr<Communicator> clone() const override;

  MPI_Comm comm() const { return comm_; }

 private:
  struct Adopt {};
  MpiCommunicator(Adopt, MPI_Comm owned, double timeout_s);
  void init();
  // Runs `fn` on the executor thread and waits for it.
  void run(std::function<void()> fn) const;
  // Every rank's `values` (same length everywhere), concatenated in rank order.
  std::vector<int64_t> exchange(const std::vector<int64_t>& values) const;
  // Throws on every rank when the ranks disagree about (row numel, dtype) for `op`.
  void verify_layout(const char* op, const torch::Tensor& t) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  double timeout_s_ = 0;
  std::unique_ptr<SerialExecutor> executor_;
  std::unique_ptr<StallWatchdog> watchdog_;  // watches executor_; stopped before it
};

}  // namespace satclip::dist
