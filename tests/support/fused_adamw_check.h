// The FusedAdamW check shared by the CPU test (tests/train/test_fused_adamw.cpp) and the GPU test
// (tests/gpu/test_gpu_optim.cpp): a few steps of ATen's fused AdamW against libtorch's AdamW, the
// optimizer it replaces: the same parameters up to rounding, and the state where checkpoints read it.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/train/optim/fused_adamw.h"
#include "support/grad_tolerance.h"

namespace satclip::testing {

constexpr int kAdamWSteps = 6;

struct AdamWRun {
  std::vector<torch::Tensor> params;      // after kAdamWSteps steps
  std::vector<int64_t> steps;             // the state's step count per parameter, -1 without state
  std::vector<torch::Tensor> exp_avg_sq;  // the state's second moment (undefined without state)
};

// Two groups with different options; the last parameter never gets a gradient. Starting values
// and the gradient of every step are drawn in float64 from a fixed seed, then cast to `dtype`, so
// the float32 and float64 runs see the same numbers.
inline AdamWRun run_adamw(bool fused, torch::Dtype dtype, const torch::Device& device, double lr_scale = 1.0) {
  torch::manual_seed(7);
  const std::vector<std::vector<int64_t>> shapes = {{7, 5}, {5}, {3, 4, 2}, {4}};
  std::vector<torch::Tensor> params;
  for (const auto& s : shapes) {
    params.push_back(torch::randn(s, torch::kDouble).to(device, dtype).requires_grad_(true));
  }
  std::vector<std::vector<torch::Tensor>> grads(kAdamWSteps);
  for (auto& g : grads) {
    for (size_t i = 0; i + 1 < shapes.size(); ++i) {
      g.push_back(torch::randn(shapes[i], torch::kDouble).to(device, dtype));
    }
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{params[0], params[1]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(1e-2 * lr_scale).weight_decay(0.1)));
  groups.emplace_back(std::vector<torch::Tensor>{params[2], params[3]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(3e-3 * lr_scale).betas({0.8, 0.95}).eps(1e-6).weight_decay(0)));
  const torch::optim::AdamWOptions defaults(1e-3);
  std::unique_ptr<torch::optim::AdamW> opt;
  if (fused) {
    opt = std::make_unique<satclip::core::FusedAdamW>(std::move(groups), defaults);
  } else {
    opt = std::make_unique<torch::optim::AdamW>(std::move(groups), defaults);
  }
  for (int s = 0; s < kAdamWSteps; ++s) {
    opt->zero_grad();
    for (size_t i = 0; i < grads[s].size(); ++i) params[i].mutable_grad() = grads[s][i].clone();
    opt->step();
  }
  AdamWRun r;
  for (const auto& p : params) {
    r.params.push_back(p.detach().clone());
    const auto it = opt->state().find(p.unsafeGetTensorImpl());
    if (it == opt->state().end()) {
      r.steps.push_back(-1);
      r.exp_avg_sq.emplace_back();
      continue;
    }
    const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    r.steps.push_back(st.step());
    r.exp_avg_sq.push_back(st.exp_avg_sq().clone());
  }
  return r;
}

// FusedAdamW on `device` against libtorch's AdamW on the same device: float64 to 1e-12 relative,
// float32 within the float32 rule (support/grad_tolerance.h) around the float64 run; the state's
// step counts agree; a parameter without a gradient stays as it was, without state.
inline void expect_fused_matches_adamw(const torch::Device& device) {
  const AdamWRun plain64 = run_adamw(false, torch::kDouble, device), fused64 = run_adamw(true, torch::kDouble, device);
  const AdamWRun plain32 = run_adamw(false, torch::kFloat, device), fused32 = run_adamw(true, torch::kFloat, device);
  const AdamWRun off32 = run_adamw(false, torch::kFloat, device, /*lr_scale=*/1.01);  // a wrong learning rate
  for (size_t i = 0; i < plain64.params.size(); ++i) {
    const std::string name = "param " + std::to_string(i);
    EXPECT_EQ(fused64.steps[i], plain64.steps[i]) << name;
    EXPECT_EQ(fused32.steps[i], plain32.steps[i]) << name;
    EXPECT_EQ(mismatch(name, fused64.params[i], plain64.params[i], 0, 1e-12), "");
    const double tol = float32_tolerance(plain32.params[i], plain64.params[i]);
    EXPECT_EQ(mismatch(name, fused32.params[i], plain64.params[i], tol), "");
    if (plain64.steps[i] < 0) {
      EXPECT_TRUE(torch::equal(fused32.params[i], plain32.params[i])) << name << " had no gradient";
      continue;
    }
    EXPECT_EQ(fused64.steps[i], kAdamWSteps) << name;
    EXPECT_EQ(mismatch(name + " exp_avg_sq", fused64.exp_avg_sq[i], plain64.exp_avg_sq[i], 0, 1e-12), "");
    // The rule catches a real difference: 1 % more learning rate fails it.
    EXPECT_NE(mismatch(name, off32.params[i], plain64.params[i], tol), "") << name;
  }
}

// Channels-last weights meet contiguous gradients (a GradReducer bucket) and, from the second
// step, contiguous moments (as a checkpoint restores them); after a "resume" the step counts jump
// (the states' counts set to 10). The fused AdamW must still match libtorch's AdamW on a contiguous
// twin of the weight, to float32 rounding (1e-5 relative after 4 steps).
inline void expect_fused_handles_layouts_and_restored_steps(const torch::Device& device) {
  torch::manual_seed(3);
  auto w = torch::randn({4, 3, 5, 5}).to(device).contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_(true);
  auto ref = w.detach().contiguous().requires_grad_(true);
  auto options = [] { return torch::optim::AdamWOptions(1e-2).weight_decay(0.1); };
  satclip::core::FusedAdamW fused(std::vector<torch::Tensor>{w}, options());
  torch::optim::AdamW plain(std::vector<torch::Tensor>{ref}, options());
  auto state_of = [](torch::optim::Optimizer& o, const torch::Tensor& p) -> torch::optim::AdamWParamState& {
    return static_cast<torch::optim::AdamWParamState&>(*o.state().at(p.unsafeGetTensorImpl()));
  };
  for (int step = 0; step < 4; ++step) {
    const auto grad = torch::randn({4, 3, 5, 5}).to(device);
    w.mutable_grad() = grad.clone();
    ref.mutable_grad() = grad.clone();
    if (step == 1) {
      auto& st = state_of(fused, w);
      st.exp_avg(st.exp_avg().contiguous());
      st.exp_avg_sq(st.exp_avg_sq().contiguous());
    }
    if (step == 2) {
      state_of(fused, w).step(10);
      state_of(plain, ref).step(10);
    }
    fused.step();
    plain.step();
  }
  EXPECT_EQ(state_of(fused, w).step(), 12);
  EXPECT_TRUE(w.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_LE(relative_error(w.detach().cpu(), ref.detach().cpu()), 1e-5);
}

// step_unless(): a step with found_inf = 1 (its gradients NaN, as in a non-finite step) changes
// no parameter and no moment, and after settle_steps() the states count only the applied steps;
// with found_inf = 0 it is step(), bit for bit.
inline void expect_step_unless_skips_and_settles(const torch::Device& device) {
  const auto opts = torch::TensorOptions().device(device).dtype(torch::kFloat);
  torch::manual_seed(3);
  const auto start = torch::randn({6, 5}, torch::kDouble).to(opts);
  std::vector<torch::Tensor> grads;
  for (int i = 0; i < 3; ++i) grads.push_back(torch::randn({6, 5}, torch::kDouble).to(opts));
  auto a = start.clone().requires_grad_(true), b = start.clone().requires_grad_(true);
  const auto options = torch::optim::AdamWOptions(1e-2).weight_decay(0.1);
  satclip::core::FusedAdamW plain(std::vector<torch::Tensor>{a}, options);
  satclip::core::FusedAdamW skipping(std::vector<torch::Tensor>{b}, options);
  size_t applied = 0;
  for (int s = 0; s < 5; ++s) {
    const bool skip = s == 1 || s == 3;
    b.mutable_grad() = skip ? torch::full({6, 5}, std::nan(""), opts) : grads[applied].clone();
    skipping.step_unless(torch::full({}, skip ? 1.0 : 0.0, opts));
    if (skip) continue;
    a.mutable_grad() = grads[applied++].clone();
    plain.step();
  }
  auto state = [](satclip::core::FusedAdamW& o, const torch::Tensor& p) -> torch::optim::AdamWParamState& {
    return static_cast<torch::optim::AdamWParamState&>(*o.state().at(p.unsafeGetTensorImpl()));
  };
  EXPECT_TRUE(torch::equal(a, b)) << "the skipped steps changed the parameter";
  EXPECT_TRUE(torch::equal(state(plain, a).exp_avg(), state(skipping, b).exp_avg()));
  EXPECT_TRUE(torch::equal(state(plain, a).exp_avg_sq(), state(skipping, b).exp_avg_sq()));
  EXPECT_EQ(state(plain, a).step(), 3);
  EXPECT_EQ(state(skipping, b).step(), 5) << "before settle_steps() the states count every step";
  skipping.settle_steps();
  EXPECT_EQ(state(skipping, b).step(), 3);
  // Counts settled: the next steps continue alike.
  a.mutable_grad() = grads[0].clone();
  b.mutable_grad() = grads[0].clone();
  plain.step();
  skipping.step_unless(torch::zeros({}, opts));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ(state(skipping, b).step(), 4);
}

}  // namespace satclip::testing
