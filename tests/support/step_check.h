// Trains the model a few steps two ways and compares: shared by tests/gpu/test_gpu_step.cpp (CUDA
// graphs, channels-last on CUDA) and tests/train/test_step.cpp (channels-last on the CPU).
//
// Tolerances: TF32 is off and both sides compute the same functions on the same data. The
// comparison runs in lockstep (each step starts from equal weights) because two free runs of this
// net drift apart from rounding alone (BatchNorm over few values, and AdamW, whose first steps move
// each weight by lr x sign(g); eps is 1 here, so that an update is proportional to its gradient).
// Bounds per step, relative over the tensor: loss and BatchNorm statistics 1e-5; gradients 1e-3;
// updated weights 1e-4 (an update is about 1e-2 of a weight, so 1e-4 allows 1 % error on it). A
// stale input, a stale gradient or a repeated BatchNorm update errs by more than 1e-2
// (TheCheckSeesOtherBatches: 1.6e-2 on the first loss, about 1 on the gradients).
// Another memory layout (channels-last) runs other convolution algorithms, and the image
// encoder's gradients then differ by more than rounding: near-ties (ReLU at zero, max-pooling)
// route a gradient differently for a 1e-7 difference in the forward pass. PyTorch's own
// channels-last ResNet18 on this CPU differs from its contiguous one by 6.7e-3 in a gradient after
// one SGD step, ours by up to 0.13 in one tensor (64 px, batch 8). So with channels_last the image
// encoder's gradients are held to 0.5 and its updated weights to 1e-2 (sanity: not zero, not
// garbage); the forward pass, the heads' and the location encoder's gradients keep the bounds above.
#pragma once

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/base/text.h"
#include "core/train/step_compute.h"
#include "core/train/step_graph.h"
#include "distributed/local_communicator.h"
#include "model/model_test_util.h"
#include "support/grad_tolerance.h"

namespace satclip::testing {

using namespace satclip::core;  // NOLINT: test support for core types

// The largest differences seen over a lockstep run (for the record; the checks use the bounds).
struct Lockstep {
  double loss = 0, grad = 0, buffer = 0, param = 0;  // largest relative errors
  int eager_steps = 0;                                // candidate micro-batches that ran eagerly
};

// The micro-batches of a lockstep run: their rows in order, and how many make one optimizer step
// (gradient accumulation: the backward of each runs on its objective / micros, as in the trainer).
struct LockstepPlan {
  std::vector<int64_t> sizes = {8, 8, 8, 5, 8, 8};  // 5: the last partial batch of an epoch (runs eagerly)
  int64_t micros = 1;
};

// AdamW steps of a trainable ResNet18 + GeoCLIP model (BatchNorm in training mode) over `plan`'s
// micro-batches (by default six steps of one, one of them smaller), two ways in lockstep: the
// reference (eager, contiguous) and the candidate (`graphs`: train.cuda_graphs' StepGraph, replayed
// with the trainer's GradMode; `channels_last`). Every micro-batch's loss is compared; every step
// compares every gradient (the sum over its micro-batches) and every BatchNorm statistic, lets both
// optimizers step and compares the parameters, then copies the reference's parameters, statistics
// and moments into the candidate in place (where the graph reads them), so that each step starts
// equal. `candidate_seed` other than 11 gives the candidate other batches (to show the checks fail).
inline Lockstep expect_lockstep(LossKind loss_kind, bool graphs, bool channels_last,
                                const torch::Device& device, uint64_t candidate_seed = 11,
                                const LockstepPlan& plan = {}) {
  const ModelConfig m = satclip::testing::small_trainable_model();
  LossConfig loss;
  loss.kind = loss_kind;
  OptimConfig o;
  o.lr_image = o.lr_location = o.lr_projection = 0.01;
  o.eps = 1.0;
  struct Side {
    SatClip model{nullptr};
    std::vector<ParamGroup> groups;
    std::unique_ptr<torch::optim::AdamW> opt;
    std::unique_ptr<StepGraph> graph;
  };
  StepCompute how;
  how.loss = loss;
  how.divide_by = double(plan.micros);
  EXPECT_TRUE(plan.micros >= 1 && plan.sizes.size() % size_t(plan.micros) == 0) << "a whole number of steps";
  auto make = [&](bool cl, bool g) {
    Side s;
    s.model = SatClip(m, loss);
    fill_reference_weights(*s.model);
    s.model->to(device);
    if (cl) s.model->use_channels_last();
    s.groups = make_param_groups(s.model, o, loss);
    s.opt = make_optimizer(s.groups, o, device);
    if (g) s.graph = std::make_unique<StepGraph>(s.model, s.groups, how);
    return s;
  };
  Side ref = make(false, false), cand = make(channels_last, graphs);
  satclip::dist::LocalCommunicator comm;
  Lockstep out;
  std::vector<StepInputs> batches[2];
  for (int side = 0; side < 2; ++side) {
    torch::manual_seed(side == 0 ? 11 : candidate_seed);  // drawn on the CPU: the same on any device
    for (int64_t n : plan.sizes) {
      batches[side].push_back({torch::rand({n, 13, 64, 64}).to(device), {},
                               torch::stack({torch::rand({n}) * 160 - 80, torch::rand({n}) * 340 - 170}, 1).to(device)});
    }
  }
  const size_t steps = plan.sizes.size() / size_t(std::max<int64_t>(1, plan.micros));
  for (size_t step = 0; step < steps; ++step) {
    const std::string at = cat(" at step ", step + 1);
    ref.opt->zero_grad();
    cand.opt->zero_grad();
    for (int64_t micro = 0; micro < plan.micros; ++micro) {
      const size_t k = step * size_t(plan.micros) + size_t(micro);
      const double lr_ = forward_backward(ref.model, batches[0][k], comm, how).item<double>();
      const auto& in = batches[1][k];
      double lc;
      if (cand.graph && cand.graph->mismatch(in).empty()) {
        lc = cand.graph->run(in, grad_mode(micro, plan.micros)).first.item<double>();
      } else {
        ++out.eager_steps;
        lc = forward_backward(cand.model, in, comm, how).item<double>();
      }
      const double dl = std::abs(lc - lr_) / std::abs(lr_);
      out.loss = std::max(out.loss, dl);
      EXPECT_LE(dl, 1e-5) << "loss" << at << (plan.micros > 1 ? cat(", micro-batch ", micro + 1) : "") << ": "
                          << lc << " vs " << lr_;
    }
    const auto rp = ref.model->named_parameters(), cp = cand.model->named_parameters();
    for (const auto& p : rp) {
      const auto& g = p.value().grad();
      if (!g.defined()) continue;
      const double e = relative_error(cp[p.key()].grad().cpu(), g.cpu());
      const bool encoder = starts_with(p.key(), "image_encoder.");
      if (!encoder || !channels_last) out.grad = std::max(out.grad, e);
      EXPECT_LE(e, encoder && channels_last ? 0.5 : 1e-3) << "gradient of " << p.key() << at;
    }
    const auto rb = ref.model->named_buffers(), cb = cand.model->named_buffers();
    for (const auto& b : rb) {
      const auto x = cb[b.key()].cpu().to(torch::kDouble), y = b.value().cpu().to(torch::kDouble);
      const double e = relative_error(x, y);
      out.buffer = std::max(out.buffer, e);
      EXPECT_LE(e, 1e-5) << b.key() << at;
    }
    ref.opt->step();
    cand.opt->step();
    for (const auto& p : rp) {
      const double e = relative_error(cp[p.key()].detach().cpu(), p.value().detach().cpu());
      const bool encoder = starts_with(p.key(), "image_encoder.");
      if (!encoder || !channels_last) out.param = std::max(out.param, e);
      EXPECT_LE(e, encoder && channels_last ? 1e-2 : 1e-4) << p.key() << " after the update" << at;
    }
    torch::NoGradGuard no_grad;  // each step starts equal
    for (const auto& p : rp) cp[p.key()].copy_(p.value());
    for (const auto& b : rb) cb[b.key()].copy_(b.value());
    for (const auto& p : rp) {
      auto* rs = ref.opt->state().count(p.value().unsafeGetTensorImpl())
                     ? ref.opt->state().at(p.value().unsafeGetTensorImpl()).get() : nullptr;
      if (!rs) continue;
      auto& r = static_cast<torch::optim::AdamWParamState&>(*rs);
      auto& c = static_cast<torch::optim::AdamWParamState&>(*cand.opt->state().at(cp[p.key()].unsafeGetTensorImpl()));
      c.exp_avg().copy_(r.exp_avg());
      c.exp_avg_sq().copy_(r.exp_avg_sq());
    }
  }
  return out;
}

// The failures expect_lockstep reports (intercepted): for the tests that show it can fail.
inline std::vector<std::string> lockstep_failures(LossKind loss_kind, bool graphs, const torch::Device& device,
                                                  uint64_t candidate_seed) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    expect_lockstep(loss_kind, graphs, false, device, candidate_seed);
  }
  std::vector<std::string> messages;
  for (int i = 0; i < results.size(); ++i) messages.push_back(results.GetTestPartResult(i).message());
  return messages;
}

}  // namespace satclip::testing
