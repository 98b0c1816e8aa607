// GradReducer: averages parameter gradients across ranks in buckets, overlapped with backward.
//
// Parameters that require grad are grouped, in reverse registration order (roughly the order in
// which backward produces their gradients), into buckets of one dtype and device: the first about
// `first_bucket_bytes`, the rest about `bucket_bytes`. A post-hook on each parameter's
// AccumulateGrad node copies the fresh gradient into its bucket; when a bucket is complete it is
// all-reduced (average) asynchronously on a cloned communicator, buckets strictly in index order
// on every rank. finish() completes the remaining buckets and writes averaged gradients back.
//
// A parameter whose hook did not fire in a step contributes its current .grad (zeros when it has
// none), identically on every rank, so every rank launches the same buckets in the same order.
// Inside a no_sync() scope hooks do nothing and gradients accumulate locally.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "distributed/communicator.h"

namespace satclip::dist {

struct GradReducerOptions {
  int64_t first_bucket_bytes = int64_t{1} << 20;
  int64_t bucket_bytes = int64_t{25} << 20;
  bool overlap = true;  // false: reduce everything in finish(), after backward (for comparison)
};

class GradReducer {
 public:
  using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

  // `comm` is cloned; the reducer's collectives never interleave with the caller's. Collective.
  GradReducer(const NamedTensors& params, Communicator& comm, GradReducerOptions options = {});
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Call after backward(): waits for all reductions and writes averaged gradients into .grad.
  void finish();

  // While alive, backward passes only accumulate local gradients (gradient accumulation).
  class NoSync {
   public:
    explicit NoSync(GradReducer& r);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    GradReducer& reducer_;
  };
  NoSync no_sync() { return NoSync(*this); }

  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
  // Buckets whose reduction has been started in the current step (during backward when
  // overlapping); reset by finish().
  int64_t launched_buckets() const { return next_launch_; }
  // Names of the parameters in bucket `i`, in their order inside the flat buffer.
  std::vector<std::string> bucket_names(int64_t i) const;

 private:
  struct Slot {
    std::string name;
    torch::Tensor param;
    int64_t bucket = 0;
    int64_t offset = 0;  // in elements, inside the bucket's flat buffer
    std::shared_ptr<torch::autograd::Node> accumulator;  // keeps the hooked node alive
    uintptr_t hook_key = 0;
    bool ready = false;
  };
  struct Bucket {
    std::vector<int64_t> slots;
    torch::Tensor flat;
    int64_t pending = 0;
    WorkPtr work;
  };

  void build_buckets();
  void on_grad_ready(int64_t slot);
  void copy_in(Slot& slot);
  void launch_ready();
  void launch(int64_t bucket);
  void reset_step();

  std::unique_ptr<Communicator> comm_;
  GradReducerOptions options_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::mutex mutex_;
  int64_t next_launch_ = 0;
  bool sync_enabled_ = true;
};

}  // namespace satclip::dist
