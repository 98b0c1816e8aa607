// NcclCommunicator: collectives on CUDA tensors with NCCL. CPU tensors (the trainer's small flags,
// validation indices) are staged through the device and their results copied back to the CPU.
//
// Every NCCL call of one communicator runs on its own CUDA stream, ordered after the caller's
// current stream by an event; wait() makes the caller's current stream wait for the result (the
// host does not block). The ncclUniqueId is broadcast over MPI, and per-rank sizes (unequal
// all-gathers) are exchanged over a private MPI communicator. A watchdog thread turns an NCCL
// error, or a collective running longer than the timeout, into a logged MPI_Abort of the job.
#pragma once

#include <memory>

#include <c10/cuda/CUDAStream.h>
#include <mpi.h>
#include <nccl.h>

#include "distributed/communicator.h"

namespace satclip::dist {

class NcclWatchdog;

class NcclCommunicator final : public Communicator {
 public:
  // Collective over `bootstrap`'s ranks; `device_index` is this rank's CUDA device.
  NcclCommunicator(MPI_Comm bootstrap, int device_index, double timeout_s);
  ~NcclCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  WorkPtr all_reduce_async(torch::Tensor t, ReduceOp op) override;
  using Communicator::all_gather;
  torch::Tensor all_gather(const torch::Tensor& t, const std::vector<int64_t>& sizes) override;
  std::vector<int64_t> all_gather_sizes(int64_t n) override;
  torch::Tensor reduce_scatter(const torch::Tensor& t, const std::vector<int64_t>& counts,
                               ReduceOp op) override;
  void broadcast(torch::Tensor t, int root) override;
  void barrier() override;
  std::unique_ptr<Communicator> clone() const override;

 private:
  using Launch = std::function<ncclResult_t(cudaStream_t)>;
  // Orders `launch` after the current stream on the communicator's stream; `tensors` are marked
  // as used there. The returned work's wait() also runs `after` on the current stream.
  WorkPtr enqueue(const char* what, const std::vector<torch::Tensor>& tensors, const Launch& launch,
                  std::function<void()> after = {});
  // `t` on this rank's device: itself, or a copy of a CPU tensor (staged: the results are copied
  // back, so the host waits for such a collective). Throws for another device.
  torch::Tensor on_device(const char* op, const torch::Tensor& t) const;

  MPI_Comm mpi_ = MPI_COMM_NULL;
  ncclComm_t comm_ = nullptr;
  int device_ = 0;
  int rank_ = 0;
  int size_ = 1;
  double timeout_s_ = 600.0;
  std::unique_ptr<c10::cuda::CUDAStream> stream_;
  std::unique_ptr<NcclWatchdog> watchdog_;
};

}  // namespace satclip::dist
