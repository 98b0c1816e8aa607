// The training step's compute on the CPU (core/train/step_compute.h): channels-last convolutions
// (train.channels_last: on) train like the contiguous model; tests/support/step_check.h says how
// close and why. The CUDA run of the same check, and of the CUDA-graph step, is
// tests/gpu/test_gpu_step.cpp.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/base/error.h"
#include "support/step_check.h"

using satclip::testing::expect_lockstep;

TEST(Step, ChannelsLastTrainsLikeContiguous) {
  const auto d = expect_lockstep(satclip::LossKind::kInfoNce, false, true, torch::kCPU);
  std::printf("largest relative differences: loss %.2e, gradient %.2e, BatchNorm statistic %.2e, weight %.2e\n",
              d.loss, d.grad, d.buffer, d.param);
}

TEST(Step, ChannelsLastAccumulatesLikeContiguous) {
  // train.grad_accum 2: each step's gradients are the sum over its micro-batches (one of 5 rows).
  const auto d = expect_lockstep(satclip::LossKind::kInfoNce, false, true, torch::kCPU, 11, {{8, 8, 8, 5, 8, 8}, 2});
  std::printf("2 micro-batches per step: largest relative differences: loss %.2e, gradient %.2e, weight %.2e\n",
              d.loss, d.grad, d.param);
}

TEST(Step, TheCheckSeesOtherBatches) {
  // The comparison can fail: a candidate trained on other batches is reported at once.
  const auto failures =
      satclip::testing::lockstep_failures(satclip::LossKind::kInfoNce, false, torch::kCPU, /*candidate_seed=*/12);
  ASSERT_FALSE(failures.empty());
  EXPECT_NE(failures.front().find("loss at step 1"), std::string::npos) << failures.front();
}

TEST(Step, GraphsNeedCuda) {
  if (satclip::core::StepGraph::compiled()) {
    // A CUDA build: the graph refuses CPU inputs instead of capturing them.
    satclip::core::ModelConfig m;
    satclip::core::LossConfig loss;
    satclip::core::SatClip model(m, loss);
    satclip::core::StepGraph g(model, {}, {});
    const satclip::core::StepInputs in{torch::zeros({2, 13, 32, 32}), {}, torch::zeros({2, 2})};
    EXPECT_NE(g.mismatch(in), "");
    EXPECT_THROW(g.run(in), satclip::Error);
  } else {
    EXPECT_THROW(satclip::core::StepGraph(nullptr, {}, {}), satclip::Error);
  }
}
