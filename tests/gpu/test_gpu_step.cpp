// The fast CUDA step (label gpu; skipped without a CUDA device): train.cuda_graphs' captured and
// replayed step, and channels-last convolutions, each against the plain eager step on the same
// device, over a few optimizer steps with changing batches.
//
// Tolerances: TF32 is off and both sides run the same kernels on the same data, so they agree to
// float32 rounding; the bounds (1e-5 on losses, 1e-4 on parameters and BatchNorm statistics after
// 6 steps) leave room for cuDNN picking another algorithm for another memory layout, and are far
// below what a wrong input copy, a stale gradient or a doubled BatchNorm update would give (>1e-2).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/train/step_compute.h"
#include "core/train/step_graph.h"
#include "distributed/local_communicator.h"
#include "model/model_test_util.h"
#include "support/dist_test_util.h"

using namespace satclip::core;
using satclip::testing::relative_error;

namespace {

struct Trained {
  std::vector<double> losses;
  std::map<std::string, torch::Tensor> state;  // parameters and buffers after the last step
  int eager_steps = 0;
};

// Six AdamW steps of a trainable ResNet18 + GeoCLIP model (BatchNorm in training mode), one of
// them on a smaller batch (the last partial batch of an epoch).
Trained train(const std::string& loss_kind, bool graphs, bool channels_last) {
  ModelConfig m;
  m.freeze_image_encoder = false;
  m.embed_dim = 64;
  m.dropout = 0.0;
  LossConfig loss;
  loss.kind = loss_kind;
  OptimConfig o;
  o.lr_image = o.lr_location = 1e-3;
  o.lr_projection = 1e-2;
  SatClip model(m, loss);
  satclip::testing::fill_reference_weights(*model);
  model->to(torch::kCUDA);
  if (channels_last) model->use_channels_last();
  const auto groups = make_param_groups(model, o, loss);
  const auto opt = make_optimizer(groups, o, torch::kCUDA);
  StepCompute how;
  how.loss = loss;
  std::unique_ptr<StepGraph> graph;
  if (graphs) graph = std::make_unique<StepGraph>(model, groups, how);
  satclip::dist::LocalCommunicator comm;
  Trained out;
  torch::manual_seed(11);
  for (int64_t n : {8, 8, 8, 5, 8, 8}) {
    const auto opts = torch::TensorOptions().device(torch::kCUDA);
    const StepInputs in{torch::rand({n, 13, 32, 32}, opts), {},
                        torch::stack({torch::rand({n}, opts) * 160 - 80, torch::rand({n}, opts) * 340 - 170}, 1)};
    opt->zero_grad();
    torch::Tensor objective, sq;
    if (graph && graph->mismatch(in).empty()) {
      std::tie(objective, sq) = graph->run(in);
    } else {
      ++out.eager_steps;
      objective = forward_backward(model, in, comm, how);
      sq = grad_sq_norm(groups);
    }
    out.losses.push_back(objective.item<double>());
    apply_update(model, *opt, groups, 0.0, std::sqrt(sq.item<double>()), 1.0);
  }
  for (const auto& p : model->named_parameters()) out.state[p.key()] = p.value().detach().cpu();
  for (const auto& b : model->named_buffers()) out.state[b.key()] = b.value().detach().cpu().to(torch::kDouble);
  return out;
}

void expect_same_training(const Trained& a, const Trained& b, const std::string& what) {
  ASSERT_EQ(a.losses.size(), b.losses.size());
  for (size_t i = 0; i < a.losses.size(); ++i) {
    EXPECT_NEAR(a.losses[i], b.losses[i], 1e-5 * std::abs(b.losses[i])) << what << ", step " << i + 1;
  }
  for (const auto& [name, t] : b.state) {
    if (name.find("num_batches_tracked") != std::string::npos) {
      EXPECT_TRUE(torch::equal(a.state.at(name), t)) << what << ": " << name;
      continue;
    }
    EXPECT_LE(relative_error(a.state.at(name), t), 1e-4) << what << ": " << name;
  }
}

class GpuStep : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
};

}  // namespace

TEST_F(GpuStep, GraphReplaysTheEagerStep) {
  for (const std::string kind : {"soft_clip", "info_nce"}) {
    const Trained eager = train(kind, false, false);
    const Trained graph = train(kind, true, false);
    EXPECT_EQ(graph.eager_steps, 1) << "only the 5-row batch runs eagerly";
    expect_same_training(graph, eager, "cuda graph, " + kind);
  }
}

TEST_F(GpuStep, ChannelsLastTrainsLikeContiguous) {
  const Trained plain = train("info_nce", false, false);
  const Trained nhwc = train("info_nce", false, true);
  expect_same_training(nhwc, plain, "channels last");
  const Trained both = train("info_nce", true, true);
  expect_same_training(both, plain, "channels last + cuda graph");
}
