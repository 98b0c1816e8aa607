// The training step's checks: non-finite values (train.nonfinite) and when the host reads the
// step's results (train.host_sync).
//
// With train.host_sync: step, every step reads its loss and global gradient norm on the host (one
// device synchronisation), checks them and agrees with the other ranks on a host collective, as
// before the update. With train.host_sync: log, only the steps followed by a log line, validation
// or a checkpoint (StepEvents in plan/run_plan.h) do that; the steps between never wait for the
// device:
//   - DeferredChecks::record() decides on the device whether any rank's loss or gradient is
//     non-finite (an all-reduce of device flags: on NCCL, no host wait), and FusedAdamW skips that
//     step's update on the device;
//   - the next read step fetches the record with its loss and reports it: abort (the default)
//     fails naming the first such step, skip logs them. A stop signal is acted on at a read step.
// For finite steps both modes compute the same updates, bit for bit.
#pragma once

#include <cstdint>
#include <string>

#include <torch/optim/adamw.h>
#include <torch/types.h>

#include "core/model/satclip.h"
#include "core/recipe/recipe.h"
#include "distributed/communicator.h"

namespace satclip::core {

// train.host_sync resolved: log ("auto" on CUDA with the fused AdamW), else step. Throws when
// "log" is asked for without the fused AdamW (it skips steps on the device).
bool defers_host_reads(const TrainConfig& train, const torch::Device& device, const torch::optim::AdamW& optimizer);

// --debug: names the first non-finite row of an embedding `t` with its sample index (`index`).
void check_finite_rows(const torch::Tensor& t, const torch::Tensor& index, const std::string& what, int64_t step);

// The name of the first trainable parameter whose gradient holds a NaN or Inf, or "".
std::string first_nonfinite_grad(SatClip& model);

// What every rank agrees on after a read step, in one all-reduce of four numbers: the mean loss
// over ranks, whether any rank's loss or gradient norm was non-finite, and whether any rank
// received a stop signal (so that all ranks stop after the same step). Packed and unpacked here
// only. Collective.
struct StepAgreement {
  double loss = 0;
  bool bad_loss = false, bad_grad = false, stop = false;
  static StepAgreement reach(double loss, double grad_norm, bool stop, dist::Communicator& comm);
};

class DeferredChecks {
 public:
  // This step's verdict, recorded: a float device scalar, 1 when some rank's loss (`loss_sum`) or
  // gradient norm (`sq_norm`, device scalars) is non-finite, else 0. Collective (all ranks).
  torch::Tensor record(const torch::Tensor& loss_sum, const torch::Tensor& sq_norm, int64_t step,
                       dist::Communicator& comm);
  // The record since the last settle(), float64 [2] on `device`: the number of non-finite steps and
  // the first one (0: none); undefined when no step was recorded (train.host_sync: step). Read it
  // with the read step's own values, then call settle().
  torch::Tensor pending(const torch::Device& device) const;
  // Reports the read record (`count`, `first`) at read step `step`: abort fails naming the first
  // step; skip logs them and sets the optimizer's step counts (FusedAdamW::settle_steps). Resets it.
  void settle(double count, double first, int64_t step, bool skip, torch::optim::AdamW& optimizer);

 private:
  torch::Tensor record_;  // float64 [2]: count, first step
};

}  // namespace satclip::core
