#include "core/train/step_checks.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/train/optim/fused_adamw.h"

namespace satclip::core {

bool defers_host_reads(const TrainConfig& train, const torch::Device& device, const torch::optim::AdamW& optimizer) {
  const bool fused = dynamic_cast<const FusedAdamW*>(&optimizer) != nullptr;
  if (train.host_sync == HostSync::kLog) {
    SATCLIP_CHECK(fused, "train.host_sync: log needs the fused AdamW, which skips a non-finite step on the device",
                  "set optim.fused: auto or on, or train.host_sync: step");
    return true;
  }
  return train.host_sync == HostSync::kAuto && fused && device.is_cuda();
}

void check_finite_rows(const torch::Tensor& t, const torch::Tensor& index, const std::string& what, int64_t step) {
  const auto bad = (~torch::isfinite(t.detach())).any(1).to(torch::kCPU);
  if (!bad.any().item<bool>()) return;
  const int64_t row = bad.nonzero()[0][0].item<int64_t>();
  SATCLIP_FAIL(cat("step ", step, ": non-finite values in ", what, " of sample ", index[row].item<int64_t>(),
                   " (batch row ", row, ")"),
               "check that tile in the shards (satclip-pack validates its inputs) and the learning rates");
}

std::string first_nonfinite_grad(SatClip& model) {
  for (const auto& p : model->named_parameters()) {
    const auto& g = p.value().grad();
    if (g.defined() && !torch::isfinite(g).all().item<bool>()) return p.key();
  }
  return "";
}

torch::Tensor DeferredChecks::record(const torch::Tensor& loss_sum, const torch::Tensor& sq_norm, int64_t step,
                                     dist::Communicator& comm) {
  const auto device = loss_sum.device();
  // x * 0 is 0 for a finite x and NaN for a NaN or an infinity; a sum over ranks keeps the NaN.
  auto flags = torch::stack({loss_sum.to(torch::kDouble), sq_norm.to(device, torch::kDouble)}) * 0.0;
  comm.all_reduce(flags, dist::ReduceOp::kSum);
  const auto bad = flags.sum().isnan().to(torch::kDouble);
  if (!record_.defined()) record_ = torch::zeros({2}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  // The first bad step is noted while the count is still 0 (these run in stream order).
  const auto first = bad * record_[0].eq(0).to(torch::kDouble) * double(step);
  record_.add_(torch::stack({bad, first}));
  return bad.to(torch::kFloat);
}

torch::Tensor DeferredChecks::pending(const torch::Device& device) const {
  return record_.defined() ? record_.to(device) : torch::Tensor();
}

void DeferredChecks::settle(double count, double first, int64_t step, bool skip, torch::optim::AdamW& optimizer) {
  if (record_.defined()) record_.zero_();
  if (count <= 0) return;
  const auto n = int64_t(count), at = int64_t(first);
  SATCLIP_CHECK(skip, cat("step ", at, ": non-finite values in the loss or a gradient (read at step ", step, "; ", n,
                          " step(s) with non-finite values were not applied)"),
                "lower the learning rates or set optim.clip_norm; train.nonfinite=skip skips such steps; "
                "train.host_sync: step checks every step at once and names the tensor");
  spdlog::warn("{} step(s) with non-finite values skipped from step {} to step {} (train.nonfinite=skip)", n, at, step);
  if (auto* fused = dynamic_cast<FusedAdamW*>(&optimizer)) fused->settle_steps();
}

StepAgreement StepAgreement::reach(double loss, double grad_norm, bool stop, dist::Communicator& comm) {
  auto sum = torch::tensor({loss, std::isfinite(loss) ? 0.0 : 1.0, std::isfinite(grad_norm) ? 0.0 : 1.0, stop ? 1.0 : 0.0},
                           torch::kDouble);
  comm.all_reduce(sum, dist::ReduceOp::kSum);
  const auto* v = sum.data_ptr<double>();
  return {v[0] / comm.size(), v[1] > 0, v[2] > 0, v[3] > 0};
}

}  // namespace satclip::core
