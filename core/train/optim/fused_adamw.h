// AdamW through ATen's fused kernel (at::_fused_adamw_: one kernel launch per parameter group for
// every parameter's update on CUDA, one vectorised pass on the CPU) instead of libtorch's
// per-parameter loop of about ten kernels each.
//
// It is a torch::optim::AdamW: the parameter groups, their options (lr, betas, eps, weight
// decay) and the per-parameter state (AdamWParamState: exp_avg, exp_avg_sq, step) are the same
// objects, so apply_lr, checkpoints and resume treat both alike. The update is the same formula
// (decoupled weight decay, bias-corrected moments); the fused kernel evaluates it in another order,
// so the two differ by rounding only. amsgrad is not supported (the recipes never set it).
#pragma once

#include <torch/optim/adamw.h>

namespace satclip::core {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  // One AdamW step for every parameter with a gradient; the closure must be empty.
  torch::Tensor step(LossClosure closure = nullptr) override;
  // The same step, skipped on the device where `found_inf` (a float scalar on the parameters'
  // device, 0 or 1) is 1: no host wait. The kernel's step counts stay right; the states' counts
  // (what checkpoints save) count a skipped step until settle_steps().
  void step_unless(const torch::Tensor& found_inf);
  // Sets the states' step counts to the kernel's (one read from the device): after skipped steps.
  void settle_steps();

 private:
  void run(const torch::Tensor& found_inf);
  // Per group: the step counts the kernel reads, kept on the parameters' device and advanced there
  // (one add, no copy from the host) while they follow the states' counts; rebuilt from those
  // counts when they do not (first step, a resume, another parameter set).
  struct DeviceSteps {
    std::vector<const void*> params;
    std::vector<int64_t> counts;
    torch::Tensor values;  // float [n] on the device
  };
  std::vector<DeviceSteps> device_steps_;
};

}  // namespace satclip::core
