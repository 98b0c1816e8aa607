// The gradient contract for the full model: under mpiexec, SatClip (small config, dropout 0,
// BatchNorm frozen in eval mode) with each loss gives, after GradReducer, the gradients a single
// process computes on the concatenated global batch. Per-rank batches differ in size.
#include <gtest/gtest.h>

#include "core/losses.h"
#include "core/model/satclip.h"
#include "distributed/grad_reducer.h"
#include "distributed/local_communicator.h"
#include "distributed/mpi_communicator.h"
#include "model/model_test_util.h"
#include "support/dist_test_util.h"

using namespace satclip::core;
using satclip::testing::relative_error;

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

// (loss, dtype). float64 shows the contract without rounding (1e-10); in float32 the gradient of
// loc_projection.layer_norm.bias is a sum over samples that nearly cancels, and rounding alone
// puts it at a few 1e-5 relative, so float32 is held to 1e-4.
class ModelGradContract : public ::testing::TestWithParam<std::tuple<std::string, torch::ScalarType>> {};

}  // namespace

TEST_P(ModelGradContract, ReducedGradientsEqualSingleProcessGradients) {
  satclip::dist::MpiCommunicator comm(MPI_COMM_WORLD);
  LossConfig loss;
  const auto [kind, dtype] = GetParam();
  loss.kind = kind == "soft_clip" ? "soft_clip" : "info_nce";
  loss.local = kind == "info_nce_local";
  const double tolerance = dtype == torch::kDouble ? 1e-10 : 1e-4;
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
  reducer.finish();

  auto ref = small_model(loss, dtype);
  satclip::dist::LocalCommunicator single;
  const auto all = ref->forward(images, lat_lon);
  contrastive_loss(loss, all.image, all.location, ref->logit_scale, single).objective.backward();

  const auto ref_params = ref->named_parameters();
  int checked = 0;
  for (const auto& [name, p] : params) {
    if (!p.requires_grad()) continue;  // the frozen RFF matrices
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_LE(relative_error(p.grad(), ref_params[name].grad()), tolerance) << name << " on rank " << comm.rank();
    ++checked;
  }
  EXPECT_GT(checked, 80);
}

INSTANTIATE_TEST_SUITE_P(Losses, ModelGradContract,
                         ::testing::Combine(::testing::Values("soft_clip", "info_nce", "info_nce_local"),
                                            ::testing::Values(torch::kDouble, torch::kFloat)));
