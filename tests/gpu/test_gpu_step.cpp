// The fast CUDA step (label gpu; skipped without a CUDA device): train.cuda_graphs' captured and
// replayed step, and channels-last convolutions, each against the plain eager step on the same
// device, over a few optimizer steps with changing batches (tests/support/step_check.h says how
// close and why).
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
