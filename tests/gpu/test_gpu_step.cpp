// The fast CUDA step (label gpu; skipped without a CUDA device): train.cuda_graphs' captured and
// replayed step (also with gradient accumulation), and channels-last convolutions, each against the
// plain eager step on the same device, over a few optimizer steps with changing batches
// (tests/support/step_check.h says how close and why).
#include <gtest/gtest.h>

#include <cstdio>

#include "support/step_check.h"

using satclip::testing::expect_lockstep;

namespace {

class GpuStep : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
};

void report(const satclip::testing::Lockstep& d, const char* what) {
  std::printf("%s: largest relative differences: loss %.2e, gradient %.2e, BatchNorm statistic %.2e, weight %.2e\n",
              what, d.loss, d.grad, d.buffer, d.param);
}

}  // namespace

TEST_F(GpuStep, GraphReplaysTheEagerStep) {
  for (const auto& kind : satclip::OptionNames<satclip::LossKind>::table) {
    const auto d = expect_lockstep(kind.value, true, false, torch::kCUDA);
    EXPECT_EQ(d.eager_steps, 1) << "only the 5-row batch runs eagerly";
    report(d, ("cuda graph, " + std::string(kind.name)).c_str());
  }
}

TEST_F(GpuStep, GraphAccumulatesLikeTheEagerStep) {
  // train.grad_accum: each micro-batch is a replay (or, at another shape, an eager pass) whose
  // gradients join the step's. The graph is captured on the first micro-batch (8 rows); the 5-row
  // one runs eagerly. Two per step: capture + replay, replay + eager, replay + replay; three per
  // step: capture + replay + replay, then eager + replay + replay.
  for (const int64_t micros : {2, 3}) {
    const satclip::testing::LockstepPlan plan{{8, 8, 8, 5, 8, 8}, micros};
    const auto d = expect_lockstep(satclip::LossKind::kInfoNce, true, false, torch::kCUDA, 11, plan);
    EXPECT_EQ(d.eager_steps, 1) << "only the 5-row batch runs eagerly";
    report(d, ("cuda graph, " + std::to_string(micros) + " micro-batches per step").c_str());
  }
}

TEST_F(GpuStep, ChannelsLastTrainsLikeContiguous) {
  report(expect_lockstep(satclip::LossKind::kInfoNce, false, true, torch::kCUDA), "channels last");
  report(expect_lockstep(satclip::LossKind::kInfoNce, true, true, torch::kCUDA), "channels last + cuda graph");
}

TEST_F(GpuStep, TheCheckSeesOtherBatches) {
  const auto failures =
      satclip::testing::lockstep_failures(satclip::LossKind::kInfoNce, true, torch::kCUDA, /*candidate_seed=*/12);
  ASSERT_FALSE(failures.empty());
  EXPECT_NE(failures.front().find("loss at step 1"), std::string::npos) << failures.front();
}
