// Communicator: the collectives satclip needs, independent of the transport.
//
// Backends: LocalCommunicator (world size 1), MpiCommunicator (CPU tensors; CUDA tensors are
// staged through host memory) and NcclCommunicator (CUDA tensors; CPU tensors are staged through
// the device). make_communicator() is the one place that chooses between them. Every collective
// must be called by all ranks in the same order.
// Tensors are split and concatenated along dim 0; the other dims must agree between ranks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/base/options.h"

namespace satclip::dist {

struct Runtime;

enum class ReduceOp { kSum, kAvg, kMax };
const char* to_string(ReduceOp op);

// A started operation. wait() blocks the host (MPI) or the current CUDA stream (NCCL) until the
// result is in place, and rethrows the operation's error; calling it again does nothing.
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
};
using WorkPtr = std::shared_ptr<Work>;

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // In-place reduction of `t` across ranks, started now, completed by wait().
  virtual WorkPtr all_reduce_async(torch::Tensor t, ReduceOp op) = 0;
  void all_reduce(torch::Tensor t, ReduceOp op) { all_reduce_async(std::move(t), op)->wait(); }

  // Concatenation of every rank's `t` along dim 0; dim 0 may differ between ranks.
  torch::Tensor all_gather(const torch::Tensor& t) { return all_gather(t, all_gather_sizes(t.size(0))); }
  // Same, when every rank's dim-0 size is already known (`sizes[r]` for rank r).
  virtual torch::Tensor all_gather(const torch::Tensor& t, const std::vector<int64_t>& sizes) = 0;
  // The value `n` of every rank, in rank order.
  virtual std::vector<int64_t> all_gather_sizes(int64_t n) = 0;

  // `t` is split along dim 0 into parts of `counts[r]` rows (sum(counts) == t.size(0)); rank r
  // receives the reduction over all ranks of part r.
  virtual torch::Tensor reduce_scatter(const torch::Tensor& t, const std::vector<int64_t>& counts,
                                       ReduceOp op) = 0;

  // Overwrites `t` on every rank with root's `t` (same shape and dtype everywhere).
  virtual void broadcast(torch::Tensor t, int root) = 0;

  virtual void barrier() = 0;

  // A communicator over the same ranks whose operations never interleave with this one's, e.g. for
  // gradient reduction running concurrently with the main thread's collectives. Collective call.
  virtual std::unique_ptr<Communicator> clone() const = 0;
};

struct CommunicatorOptions {
  Backend backend = Backend::kAuto;  // distributed.backend
  double timeout_s = 600.0;      // watchdog (NCCL and MPI): a collective running longer aborts the job
};

// Builds the communicator for `runtime`: "auto" is local at world size 1, NCCL for CUDA devices
// when compiled in, MPI otherwise. Collective call on all ranks.
std::unique_ptr<Communicator> make_communicator(const CommunicatorOptions& options,
                                                const Runtime& runtime);

// True when this build contains the NCCL backend.
bool nccl_compiled_in();

// Every rank's `text`, in rank order (messages, descriptions to compare). Collective.
std::vector<std::string> all_gather_text(Communicator& comm, const std::string& text);

// Shared argument checks (throw satclip::Error naming the operation).
void check_counts(const char* op, const torch::Tensor& t, const std::vector<int64_t>& counts,
                  int world_size);

}  // namespace satclip::dist
