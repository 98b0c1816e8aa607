#include "core/train/step_compute.h"

#include <cstdlib>
#include <string>

#include <ATen/Context.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>

#include "core/base/error.h"
#include "core/train/losses.h"
#include "core/train/optim/fused_adamw.h"
#include "core/train/runlog/run_log.h"

namespace satclip::core {
namespace {

constexpr double kMaxLogitScale = 4.605170185988091;  // ln 100 (open_clip's clamp)

void mark(PhaseTimer* timer, const char* phase) {
  if (timer) timer->mark(phase);
}

}  // namespace

void configure_device_math(const TrainConfig& train, const torch::Device& device) {
  auto& context = at::globalContext();
  context.setDeterministicAlgorithms(train.deterministic, /*warn_only=*/false);
  if (!device.is_cuda()) return;
  if (train.deterministic) {
    // cuBLAS reads this when it creates its handles, at the first matmul: before that, here.
    const char* set = std::getenv("CUBLAS_WORKSPACE_CONFIG");
    const std::string value = set ? set : "";
    SATCLIP_CHECK(value.empty() || value == ":4096:8" || value == ":16:8",
                  cat("train.deterministic: CUBLAS_WORKSPACE_CONFIG is ", value,
                      ", with which cuBLAS may compute a matmul differently from run to run"),
                  "unset CUBLAS_WORKSPACE_CONFIG (the run then sets :4096:8), or set it to :4096:8 or :16:8");
    if (value.empty()) ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  }
  context.setFloat32MatmulPrecision(train.allow_tf32 ? "high" : "highest");
  context.setDeterministicCuDNN(train.deterministic);
  context.setBenchmarkCuDNN(!train.deterministic);
}

bool wants_channels_last(const TrainConfig& train, const torch::Device& device, int64_t image_size) {
  if (train.channels_last != Switch::kAuto) return train.channels_last == Switch::kOn;
  return device.is_cuda() || image_size >= kCpuChannelsLastMinSize;
}

torch::Tensor forward_backward(SatClip& model, const StepInputs& in, dist::Communicator& loss_comm,
                               const StepCompute& how) {
  torch::Tensor objective;
  {
    AutocastScope autocast(how.bf16, how.autocast_cache);
    const auto e = in.features.defined() ? model->forward_features(in.features, in.lat_lon)
                                         : model->forward(in.images, in.lat_lon);
    mark(how.timer, "forward");
    if (how.check) how.check(e);
    objective = contrastive_loss(how.loss, e.image, e.location, model->logit_scale, loss_comm).objective;
    mark(how.timer, "gather+loss");
  }
  (objective.to(torch::kFloat) / how.divide_by).backward();
  return objective.detach();
}

torch::Tensor grad_sq_norm(const std::vector<ParamGroup>& groups) {
  std::vector<torch::Tensor> grads;
  for (const auto& g : groups) {
    for (const auto& prm : g.params) {
      if (prm.grad().defined()) grads.push_back(prm.grad().detach());
    }
  }
  if (grads.empty()) return torch::zeros({}, torch::kDouble);
  // Per-tensor norms in the gradients' precision (one multi-tensor kernel on CUDA), summed in float64.
  const auto norms = at::_foreach_norm(grads);
  return torch::stack(norms).to(torch::kDouble).pow(2).sum();
}

void apply_update(SatClip& model, torch::optim::AdamW& optimizer, const std::vector<ParamGroup>& groups,
                  double clip_norm, const torch::Tensor& sq_norm, double lr_factor, const torch::Tensor& found_inf) {
  if (clip_norm > 0) {
    // On the device, without reading the norm: factor clip / (norm + 1e-6) where the norm exceeds
    // clip_norm, else exactly 1.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> grads;
    for (const auto& g : groups) {
      for (const auto& prm : g.params) {
        if (prm.grad().defined()) grads.push_back(prm.grad());
      }
    }
    if (!grads.empty()) {
      const auto norm = sq_norm.to(grads.front().device(), torch::kDouble).sqrt();
      const auto f = torch::where(norm > clip_norm, clip_norm / (norm + 1e-6), torch::ones_like(norm));
      at::_foreach_mul_(grads, f);
    }
  }
  apply_lr(optimizer, groups, lr_factor);
  if (found_inf.defined()) {
    auto* fused = dynamic_cast<FusedAdamW*>(&optimizer);
    SATCLIP_CHECK(fused != nullptr, "a step skipped on the device needs the fused AdamW", "set optim.fused: auto or on");
    fused->step_unless(found_inf);
  } else {
    optimizer.step();
  }
  if (model->logit_scale.defined()) {
    torch::NoGradGuard no_grad;
    model->logit_scale.clamp_(0.0, kMaxLogitScale);
  }
}

}  // namespace satclip::core
