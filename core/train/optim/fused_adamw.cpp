#include "core/train/optim/fused_adamw.h"

#include <ATen/ops/_fused_adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <optional>
#include <tuple>
#include <vector>

#include "core/base/error.h"

namespace satclip::core {
namespace {

bool same_layout(const torch::Tensor& a, const torch::Tensor& b) { return a.strides() == b.strides(); }

// `values` copied into a tensor with `like`'s strides.
torch::Tensor in_layout_of(const torch::Tensor& like, const torch::Tensor& values) {
  return torch::empty_like(like, torch::MemoryFormat::Preserve).copy_(values);
}

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  SATCLIP_CHECK(closure == nullptr, "FusedAdamW::step takes no closure", "compute the loss before the step");
  run(torch::Tensor());
  return {};
}

void FusedAdamW::step_unless(const torch::Tensor& found_inf) {
  SATCLIP_CHECK(found_inf.defined() && found_inf.numel() == 1 && found_inf.scalar_type() == torch::kFloat,
                "FusedAdamW::step_unless: found_inf must be one float", "");
  run(found_inf);
}

void FusedAdamW::settle_steps() {
  for (size_t gi = 0; gi < device_steps_.size() && gi < param_groups().size(); ++gi) {
    auto& dev = device_steps_[gi];
    if (!dev.values.defined()) continue;
    const auto host = dev.values.to(torch::kCPU, torch::kDouble);
    const double* v = host.data_ptr<double>();
    for (auto& p : param_groups()[gi].params()) {
      const auto it = std::find(dev.params.begin(), dev.params.end(), p.unsafeGetTensorImpl());
      if (it == dev.params.end()) continue;
      const size_t i = size_t(it - dev.params.begin());
      auto& st = static_cast<torch::optim::AdamWParamState&>(*state().at(p.unsafeGetTensorImpl()));
      dev.counts[i] = int64_t(v[i]);
      st.step(dev.counts[i]);
    }
  }
}

void FusedAdamW::run(const torch::Tensor& found_inf) {
  torch::NoGradGuard no_grad;
  device_steps_.resize(param_groups().size());
  for (size_t gi = 0; gi < param_groups().size(); ++gi) {
    auto& group = param_groups()[gi];
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    SATCLIP_CHECK(!o.amsgrad(), "the fused AdamW has no amsgrad", "use optim.fused: off");
    std::vector<torch::Tensor> params, grads, avgs, sqs;
    std::vector<int64_t> steps;
    std::vector<const void*> ids;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state()[p.unsafeGetTensorImpl()];
      if (!slot) {  // the state torch::optim::AdamW would create
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& st = static_cast<torch::optim::AdamWParamState&>(*slot);
      st.step(st.step() + 1);
      // The kernel walks each tensor's memory in order, so all four must share the parameter's
      // strides: a channels-last weight may meet a contiguous moment (restored from a checkpoint)
      // or gradient (a GradReducer bucket).
      if (!same_layout(st.exp_avg(), p)) st.exp_avg(in_layout_of(p, st.exp_avg()));
      if (!same_layout(st.exp_avg_sq(), p)) st.exp_avg_sq(in_layout_of(p, st.exp_avg_sq()));
      if (!same_layout(p.grad(), p)) p.mutable_grad() = in_layout_of(p, p.grad());
      params.push_back(p);
      grads.push_back(p.grad());
      avgs.push_back(st.exp_avg());
      sqs.push_back(st.exp_avg_sq());
      steps.push_back(st.step());
      ids.push_back(p.unsafeGetTensorImpl());
    }
    if (params.empty()) continue;
    // The kernel reads each parameter's step (already counted) from a float tensor on its device.
    auto& dev = device_steps_[gi];
    bool advanced = dev.values.defined() && dev.params == ids;
    for (size_t i = 0; advanced && i < steps.size(); ++i) advanced = steps[i] == dev.counts[i] + 1;
    if (advanced) {
      dev.values.add_(1);
    } else {
      const std::vector<float> f(steps.begin(), steps.end());
      dev.values = torch::tensor(f, torch::kFloat).to(params.front().device());
    }
    dev.counts = steps;
    dev.params = ids;
    const auto step_tensors = dev.values.unbind(0);
    std::optional<at::Tensor> found;
    if (found_inf.defined()) found = found_inf;
    at::_fused_adamw_(params, grads, avgs, sqs, /*max_exp_avg_sqs=*/{}, step_tensors, o.lr(), std::get<0>(o.betas()),
                      std::get<1>(o.betas()), o.weight_decay(), o.eps(), /*amsgrad=*/false, /*maximize=*/false,
                      /*grad_scale=*/std::nullopt, found);
    // A skipped update does not count: the kernel's counts go back (PyTorch's optimizer does the same).
    if (found_inf.defined()) dev.values.sub_(found_inf);
  }
}

}  // namespace satclip::core
