// AdamW parameter groups and learning-rate schedules from a recipe.
//
// Groups follow the seed: image encoder (optim.lr_image, optim.weight_decay), location encoder
// (optim.lr_location, optim.weight_decay), both projection heads (optim.lr_projection,
// optim.projection_weight_decay). With loss.kind=info_nce (SatCLIP's practice) biases, norm
// weights and logit_scale get no weight decay: they go into a "<group>/no_decay" twin; logit_scale
// joins the projection group. Frozen parameters are in no group.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/optim/adamw.h>

#include "core/model/satclip.h"
#include "core/recipe/recipe.h"

namespace satclip::core {

struct ParamGroup {
  std::string name;  // image, location, projection, and */no_decay twins
  std::vector<std::string> names;
  std::vector<torch::Tensor> params;
  double lr = 0, weight_decay = 0;
  int64_t numel() const;
};

// The trainable parameters in their groups (empty groups dropped), in a fixed order.
std::vector<ParamGroup> make_param_groups(SatClip& model, const OptimConfig& optim, const LossConfig& loss);

// AdamW over `groups` (one torch param group each, in the same order): ATen's fused kernel
// (FusedAdamW) when `optim.fused` is on, or auto and ATen has the kernel for `device` (CUDA, CPU);
// libtorch's AdamW otherwise.
std::unique_ptr<torch::optim::AdamW> make_optimizer(const std::vector<ParamGroup>& groups, const OptimConfig& optim,
                                                    const torch::Device& device = torch::kCPU);

// The learning-rate multiplier over time: none (1), cosine (linear warm-up over
// optim.warmup_steps, then half a cosine from 1 to 0 at `total_steps`), plateau (PyTorch's
// ReduceLROnPlateau, mode min, relative threshold 1e-4, no cooldown: after more than
// `plateau_patience` validations without improvement the factor is multiplied by
// `plateau_factor`). Warm-up applies to every kind. Pure logic: no optimizer inside.
class LrSchedule {
 public:
  LrSchedule(const OptimConfig& optim, int64_t total_steps);
  // The multiplier for optimizer step `step` (1-based).
  double factor(int64_t step) const;
  // Feeds a validation loss (plateau only); returns true when the factor dropped.
  bool on_validation(double loss);
  double plateau_factor() const { return plateau_scale_; }

  // What a checkpoint keeps (the plateau's memory); total_steps comes from the recipe.
  struct State {
    double best = 0;
    bool has_best = false;
    int64_t bad = 0;
    double plateau_scale = 1.0;
  };
  State state() const { return {best_, has_best_, bad_, plateau_scale_}; }
  void restore(const State& s) { best_ = s.best, has_best_ = s.has_best, bad_ = s.bad, plateau_scale_ = s.plateau_scale; }

 private:
  OptimConfig optim_;
  int64_t total_;
  double best_ = 0;
  bool has_best_ = false;
  int64_t bad_ = 0;
  double plateau_scale_ = 1.0;
};

// Sets every group's lr to its base lr x `factor`.
void apply_lr(torch::optim::Optimizer& optimizer, const std::vector<ParamGroup>& groups, double factor);

}  // namespace satclip::core
