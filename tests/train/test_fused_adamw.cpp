// FusedAdamW (ATen's fused kernel) against libtorch's AdamW on the CPU (the CUDA run of the same
// check is in tests/gpu/test_gpu_optim.cpp), and its refusals.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/base/error.h"
#include "core/train/optim/fused_adamw.h"
#include "support/fused_adamw_check.h"

using satclip::core::FusedAdamW;

TEST(FusedAdamW, SameParametersAndStateAsAdamW) { satclip::testing::expect_fused_matches_adamw(torch::kCPU); }

TEST(FusedAdamW, ChannelsLastWeightsAndRestoredSteps) {
  satclip::testing::expect_fused_handles_layouts_and_restored_steps(torch::kCPU);
}

TEST(FusedAdamW, StepUnlessSkipsOnTheDeviceAndSettlesTheCounts) {
  satclip::testing::expect_step_unless_skips_and_settles(torch::kCPU);
}

TEST(FusedAdamW, RefusesAmsgradAndClosures) {
  auto p = torch::zeros({3}, torch::kFloat).requires_grad_(true);
  p.mutable_grad() = torch::ones({3});
  FusedAdamW ams(std::vector<torch::Tensor>{p}, torch::optim::AdamWOptions(1e-3).amsgrad(true));
  EXPECT_THROW(ams.step(), satclip::Error);
  FusedAdamW plain(std::vector<torch::Tensor>{p}, torch::optim::AdamWOptions(1e-3));
  EXPECT_THROW(plain.step([] { return torch::zeros({}); }), satclip::Error);
}
