// The fast CUDA step (label gpu; skipped without a CUDA device): train.cuda_graphs' captured and
// replayed step (also with gradient accumulation), and channels-last convolutions, each against the
// plain eager step on the same device, over a few optimizer steps with changing batches
// (tests/support/step_check.h says how close and why); the capture's random draws.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include <ATen/Context.h>
#include <torch/cuda.h>

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

TEST_F(GpuStep, TheCaptureDrawsTheRandomNumbersOfTheEagerStep) {
  // Dropout in the heads draws from the CUDA generator. The capture's warm-up passes must leave
  // it as they found it: then the first replay draws the masks an eager step would (and so does
  // every later one), and a resumed run, which captures at its first step, trains on the masks
  // of the run that never stopped. Each step starts both sides from the same generator state.
  using namespace satclip::core;
  ModelConfig m = satclip::testing::small_trainable_model();
  m.dropout = 0.1;
  LossConfig loss;
  loss.kind = satclip::LossKind::kInfoNce;
  StepCompute how;
  how.loss = loss;
  auto make = [&] {
    SatClip s(m, loss);
    satclip::testing::fill_reference_weights(*s);
    s->to(torch::kCUDA);
    return s;
  };
  SatClip eager = make(), graphed = make();
  StepGraph graph(graphed, make_param_groups(graphed, OptimConfig{}, loss), how);
  satclip::dist::LocalCommunicator comm;
  auto generator = at::globalContext().defaultGenerator(torch::Device(torch::kCUDA, 0));
  torch::manual_seed(3);
  torch::cuda::manual_seed_all(5);
  for (int step = 1; step <= 3; ++step) {
    const StepInputs in{torch::rand({8, 13, 64, 64}).to(torch::kCUDA), {},
                        torch::stack({torch::rand({8}) * 160 - 80, torch::rand({8}) * 340 - 170}, 1).to(torch::kCUDA)};
    const auto start = generator.get_state();
    const double le = forward_backward(eager, in, comm, how).item<double>();
    const auto after_eager = generator.get_state();
    generator.set_state(start);
    const double lg = graph.run(in).first.item<double>();
    const auto after_graph = generator.get_state();
    EXPECT_TRUE(torch::equal(after_graph, after_eager)) << "step " << step << ": the generator moved on differently";
    EXPECT_LE(std::abs(lg - le) / std::abs(le), 1e-5) << "step " << step << ": loss " << lg << " vs " << le;
    EXPECT_FALSE(torch::equal(after_eager, start)) << "the step drew no random numbers: no dropout tested";
  }
}
