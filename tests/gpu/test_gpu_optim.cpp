// The fused AdamW on CUDA (label gpu; skipped without a CUDA device): a few steps against
// libtorch's AdamW on the same device, the check tests/train/test_fused_adamw.cpp makes on the CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/fused_adamw_check.h"

TEST(GpuFusedAdamW, SameParametersAndStateAsAdamW) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  satclip::testing::expect_fused_matches_adamw(torch::Device(torch::kCUDA));
}

TEST(GpuFusedAdamW, ChannelsLastWeightsAndRestoredSteps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  satclip::testing::expect_fused_handles_layouts_and_restored_steps(torch::Device(torch::kCUDA));
}

TEST(GpuFusedAdamW, StepUnlessSkipsOnTheDeviceAndSettlesTheCounts) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  satclip::testing::expect_step_unless_skips_and_settles(torch::Device(torch::kCUDA));
}
