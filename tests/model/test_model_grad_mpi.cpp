// The gradient contract for the full model: under mpiexec, SatClip (small config, dropout 0,
// BatchNorm frozen in eval mode) with each loss gives, after GradReducer, the gradients a single
// process computes on the concatenated global batch. Per-rank batches differ in size.
#include <map>

#include <gtest/gtest.h>

#include "core/train/losses.h"
#include "core/model/satclip.h"
#include "distributed/grad_reducer.h"
#include "distributed/local_communicator.h"
#include "distributed/mpi_communicator.h"
#include "model/model_test_util.h"
#include "support/dist_test_util.h"

using namespace satclip::core;

namespace {

constexpr int64_t kBaseRows = 2;  // rank r holds kBaseRows + r rows
int64_t rows_of(int r) { return satclip::testing::rows_of(r, kBaseRows); }
int64_t offset_of(int r) { return satclip::testing::offset_of(r, kBaseRows); }

SatClip small_model(const LossConfig& loss, torch::ScalarType dtype) {
  ModelConfig m;
  m.freeze_image_encoder = false;
  m.geoclip_sigmas = {1, 16};
  m.embed_dim = 32;
  m.dropout = 0.0;
  SatClip model(m, loss);
  satclip::testing::fill_reference_weights(*model);
  model->to(dtype);
  model->train(false);  // BatchNorm on running statistics; no dropout anyway
  return model;
}

// (loss, dtype). float64 shows the contract without rounding (1e-10); float32 is held to the
// rounding bound of tests/support/grad_tolerance.h (in float32 the gradient of
// loc_projection.layer_norm.bias is a sum over samples that nearly cancels, so a per-tensor
// relative tolerance would measure the CPU, not the code).
class ModelGradContract : public ::testing::TestWithParam<std::tuple<std::string, torch::ScalarType>> {};

}  // namespace

TEST_P(ModelGradContract, ReducedGradientsEqualSingleProcessGradients) {
  satclip::dist::MpiCommunicator comm(MPI_COMM_WORLD);
  LossConfig loss;
  const auto [kind, dtype] = GetParam();
  loss.kind = kind == "soft_clip" ? satclip::LossKind::kSoftClip : satclip::LossKind::kInfoNce;
  loss.local = kind == "info_nce_local";
  loss.temperature = 0.5;
  const int64_t total = offset_of(comm.size());
  torch::manual_seed(17);
  const auto images = torch::rand({total, 13, 16, 16}).to(dtype);
  const auto lat_lon = torch::stack({torch::rand({total}) * 160 - 80, torch::rand({total}) * 340 - 170}, 1).to(dtype);

  auto model = small_model(loss, dtype);
  satclip::dist::GradReducer::NamedTensors params;
  for (const auto& p : model->named_parameters()) params.emplace_back(p.key(), p.value());
  satclip::dist::GradReducer reducer(params, comm, {1 << 16, 1 << 20});
  const auto mine = model->forward(images.narrow(0, offset_of(comm.rank()), rows_of(comm.rank())),
                                   lat_lon.narrow(0, offset_of(comm.rank()), rows_of(comm.rank())));
  contrastive_loss(loss, mine.image, mine.location, model->logit_scale, comm).objective.backward();
  std::map<std::string, torch::Tensor> local;  // this rank's own gradient, before averaging
  for (const auto& [name, p] : params) {
    if (p.grad().defined()) local[name] = p.grad().clone();
  }
  reducer.finish();

  // Single-process reference on the whole batch, in the same dtype and in float64 (the float32
  // rule of tests/support/grad_tolerance.h scales with the reference's own rounding error).
  satclip::dist::LocalCommunicator single;
  auto single_process_grads = [&](torch::ScalarType t) {
    auto ref = small_model(loss, t);
    const auto all = ref->forward(images.to(t), lat_lon.to(t));
    contrastive_loss(loss, all.image, all.location, ref->logit_scale, single).objective.backward();
    std::map<std::string, torch::Tensor> grads;
    for (const auto& p : ref->named_parameters()) {
      if (p.value().grad().defined()) grads[p.key()] = p.value().grad();
    }
    return grads;
  };
  const auto want = single_process_grads(dtype);
  const auto want64 = single_process_grads(torch::kDouble);

  int checked = 0, unaveraged_caught = 0, summed_caught = 0;
  for (const auto& [name, p] : params) {
    if (!p.requires_grad()) continue;  // the frozen RFF matrices
    ASSERT_TRUE(p.grad().defined()) << name;
    const double tol = satclip::testing::float32_tolerance(want.at(name), want64.at(name));
    EXPECT_EQ(satclip::testing::mismatch(name, p.grad(), want.at(name), tol), "") << "on rank " << comm.rank();
    ++checked;
    // The same rule rejects what a broken reducer would leave: this rank's unaveraged gradient
    // (a skipped bucket) and the sum over ranks instead of the average.
    // (Not logit_scale under a global loss: it sees only the gathered embeddings, so its
    // unaveraged gradient is already the global one on every rank.)
    const bool same_everywhere = name == "logit_scale" && !loss.local;
    if (!same_everywhere && !satclip::testing::mismatch(name, local.at(name), want.at(name), tol).empty()) {
      ++unaveraged_caught;
    }
    if (!satclip::testing::mismatch(name, p.grad() * comm.size(), want.at(name), tol).empty()) ++summed_caught;
  }
  EXPECT_GT(checked, 80);
  if (comm.size() > 1) {
    EXPECT_EQ(summed_caught, checked) << "a summed gradient passed the check";
    const int global_scale = model->logit_scale.defined() && !loss.local;
    EXPECT_EQ(unaveraged_caught, checked - global_scale) << "an unaveraged gradient passed the check";
  }
}

INSTANTIATE_TEST_SUITE_P(Losses, ModelGradContract,
                         ::testing::Combine(::testing::Values("soft_clip", "info_nce", "info_nce_local"),
                                            ::testing::Values(torch::kDouble, torch::kFloat)));
