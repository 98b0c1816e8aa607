#include "core/train/fused_adamw.h"

#include <ATen/ops/_fused_adamw.h>
#include <torch/utils.h>

#include <tuple>
#include <vector>

#include "core/base/error.h"

namespace satclip::core {

torch::Tensor FusedAdamW::step(LossClosure closure) {
  SATCLIP_CHECK(closure == nullptr, "FusedAdamW::step takes no closure", "compute the loss before the step");
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    SATCLIP_CHECK(!o.amsgrad(), "the fused AdamW has no amsgrad", "use optim.fused: off");
    std::vector<torch::Tensor> params, grads, avgs, sqs;
    std::vector<float> steps;
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
      params.push_back(p);
      grads.push_back(p.grad());
      avgs.push_back(st.exp_avg());
      sqs.push_back(st.exp_avg_sq());
      steps.push_back(float(st.step()));
    }
    if (params.empty()) continue;
    // The kernel reads each parameter's step (already counted) from a float tensor on its device:
    // one small copy per group.
    const auto step_tensors =
        torch::tensor(steps, torch::kFloat).to(params.front().device(), /*non_blocking=*/false).unbind(0);
    at::_fused_adamw_(params, grads, avgs, sqs, /*max_exp_avg_sqs=*/{}, step_tensors, o.lr(), std::get<0>(o.betas()),
                      std::get<1>(o.betas()), o.weight_decay(), o.eps(), /*amsgrad=*/false, /*maximize=*/false);
  }
  return {};
}

}  // namespace satclip::core
