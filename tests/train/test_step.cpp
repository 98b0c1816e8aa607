// The training step's compute on the CPU (core/train/step_compute.h): channels-last convolutions
// (train.channels_last: on) train like the contiguous model; tests/support/step_check.h says how
// close and why. The CUDA run of the same check, and of the CUDA-graph step, is
// tests/gpu/test_gpu_step.cpp. train.deterministic's settings.
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

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

TEST(Step, DeterministicSettings) {
  // train.deterministic's settings, also for a CUDA device (setting them needs no GPU): ATen's
  // deterministic mode, cuDNN without its autotuner, cuBLAS's fixed workspace; and back.
  using satclip::core::configure_device_math;
  auto& context = at::globalContext();
  const torch::Device cuda(torch::kCUDA);
  ::unsetenv("CUBLAS_WORKSPACE_CONFIG");
  satclip::core::TrainConfig t;
  t.deterministic = true;
  configure_device_math(t, torch::kCPU);
  EXPECT_TRUE(context.deterministicAlgorithms());
  EXPECT_EQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), nullptr) << "the CPU needs no cuBLAS setting";
  configure_device_math(t, cuda);
  EXPECT_TRUE(context.deterministicAlgorithms());
  EXPECT_TRUE(context.deterministicCuDNN());
  EXPECT_FALSE(context.benchmarkCuDNN());
  ASSERT_NE(std::getenv("CUBLAS_WORKSPACE_CONFIG"), nullptr);
  EXPECT_STREQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), ":4096:8");
  ::setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8", 1);
  EXPECT_NO_THROW(configure_device_math(t, cuda)) << "the other deterministic workspace";
  EXPECT_STREQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), ":16:8");
  ::setenv("CUBLAS_WORKSPACE_CONFIG", ":1024:2", 1);
  try {
    configure_device_math(t, cuda);
    ADD_FAILURE() << "a workspace that is not deterministic was accepted";
  } catch (const satclip::Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUBLAS_WORKSPACE_CONFIG is :1024:2"), std::string::npos) << e.what();
  }
  ::unsetenv("CUBLAS_WORKSPACE_CONFIG");
  t.deterministic = false;
  configure_device_math(t, cuda);
  EXPECT_FALSE(context.deterministicAlgorithms());
  EXPECT_FALSE(context.deterministicCuDNN());
  EXPECT_TRUE(context.benchmarkCuDNN());
  EXPECT_EQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), nullptr);
}
