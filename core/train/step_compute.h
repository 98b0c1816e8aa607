// The compute of one training step, shared by the trainer and tests/bench/bench_train: forward
// (bf16 autocast on CUDA), the contrastive loss over the global batch and backward; the squared
// global gradient norm on the device; and the update (clipping, learning rates, AdamW, the logit
// scale's clamp). None of these synchronises with the device.
#pragma once

#include <functional>
#include <vector>

#include <torch/optim/adamw.h>

#include "core/infer/autocast.h"
#include "core/model/satclip.h"
#include "core/recipe/recipe.h"
#include "core/train/optim/optim.h"
#include "distributed/communicator.h"

namespace satclip::core {

class PhaseTimer;

// Math settings for a run, before anything computes on `device`. train.deterministic: ATen's
// deterministic algorithms (an operation that has none throws, naming itself) on every device,
// and on CUDA cuDNN's deterministic algorithms without its autotuner and cuBLAS with the fixed
// workspace CUBLAS_WORKSPACE_CONFIG=:4096:8 (set here unless the environment sets :4096:8 or
// :16:8; another value is an error). Otherwise, on CUDA, cuDNN's autotuner (the shapes repeat
// every step). On CUDA, TF32 matmuls only when train.allow_tf32 (cuDNN convolutions use TF32
// either way).
void configure_device_math(const TrainConfig& train, const torch::Device& device);

// train.channels_last resolved for `device` and data.image_size: on, off, or auto: on for CUDA,
// and on the CPU for images of kCpuChannelsLastMinSize px or more (ATen's NHWC convolutions are
// faster there from about 100 px on, ResNet18 1.3x at 224 px, and a little slower at 32 px:
// docs/performance.md, "Model on the CPU").
constexpr int64_t kCpuChannelsLastMinSize = 128;
bool wants_channels_last(const TrainConfig& train, const torch::Device& device, int64_t image_size);

// One micro-batch's model inputs: images, or (data.feature_cache) the frozen encoder's features.
struct StepInputs {
  torch::Tensor images;    // [B, bands, S, S] float, or undefined
  torch::Tensor features;  // [B, F], or undefined
  torch::Tensor lat_lon;   // [B, 2]
};

struct StepCompute {
  LossConfig loss;
  bool bf16 = false;        // bf16 autocast for the forward pass and the loss (CUDA only)
  double divide_by = 1.0;   // backward runs on objective / divide_by (gradient accumulation)
  bool autocast_cache = true;  // false while capturing a CUDA graph
  std::function<void(const Embeddings&)> check;  // --debug: between forward and loss
  PhaseTimer* timer = nullptr;                    // marks "forward" and "gather+loss"
};

// Forward, loss and backward of one micro-batch. Returns the objective (a device scalar).
torch::Tensor forward_backward(SatClip& model, const StepInputs& in, dist::Communicator& loss_comm,
                               const StepCompute& how);

// The squared global norm of the groups' gradients, a float64 device scalar (0 without any).
torch::Tensor grad_sq_norm(const std::vector<ParamGroup>& groups);

// Clips the gradients to clip_norm when their global norm (sqrt of `sq_norm`, grad_sq_norm's
// device scalar) exceeds it (clip_norm > 0; on the device, no host read), sets the groups'
// learning rates to lr x lr_factor, takes the optimizer step and clamps the logit scale to
// [0, ln 100]. With `found_inf` (a float device scalar, 0 or 1; FusedAdamW only) the update is
// skipped on the device where it is 1 (FusedAdamW::step_unless).
void apply_update(SatClip& model, torch::optim::AdamW& optimizer, const std::vector<ParamGroup>& groups,
                  double clip_norm, const torch::Tensor& sq_norm, double lr_factor,
                  const torch::Tensor& found_inf = {});

}  // namespace satclip::core
