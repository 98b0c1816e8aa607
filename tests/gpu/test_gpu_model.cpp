// GPU: the model and both losses on CUDA give the CPU's embeddings, losses and gradients, and
// the device transforms give the CPU's batch (label gpu; skipped without a CUDA device).
#include <gtest/gtest.h>

#include "core/train/losses.h"
#include "core/model/satclip.h"
#include "distributed/local_communicator.h"
#include "model/model_test_util.h"
#include "support/dist_test_util.h"

using namespace satclip::core;
using satclip::testing::relative_error;

TEST(GpuModel, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // TF32 would change float32 matmuls on Ampere and later; compare exact float32 arithmetic.
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  for (const auto& [kind, name] : satclip::OptionNames<satclip::LossKind>::table) {
    const ModelConfig m = satclip::testing::small_trainable_model();
    LossConfig loss;
    loss.kind = kind;
    SatClip cpu(m, loss), gpu(m, loss);
    satclip::testing::fill_reference_weights(*cpu);
    satclip::testing::fill_reference_weights(*gpu);
    cpu->train(false);
    gpu->train(false);
    gpu->to(torch::kCUDA);
    torch::manual_seed(4);
    const auto images = torch::rand({6, 13, 32, 32});
    const auto lat_lon = torch::stack({torch::rand({6}) * 160 - 80, torch::rand({6}) * 340 - 170}, 1);
    satclip::dist::LocalCommunicator comm;
    const auto ec = cpu->forward(images, lat_lon);
    const auto eg = gpu->forward(images.cuda(), lat_lon.cuda());
    EXPECT_LE(relative_error(eg.image, ec.image), 1e-4) << name;
    EXPECT_LE(relative_error(eg.location, ec.location), 1e-4) << name;
    const auto lc = contrastive_loss(loss, ec.image, ec.location, cpu->logit_scale, comm).objective;
    const auto lg = contrastive_loss(loss, eg.image, eg.location, gpu->logit_scale, comm).objective;
    EXPECT_LE(relative_error(lg.reshape({1}), lc.reshape({1})), 1e-5) << name;
    lc.backward();
    lg.backward();
    const auto gp = gpu->named_parameters();
    for (const auto& p : cpu->named_parameters()) {
      if (!p.value().requires_grad()) continue;
      EXPECT_LE(relative_error(gp[p.key()].grad(), p.value().grad()), 1e-3) << name << " " << p.key();
    }
  }
}
