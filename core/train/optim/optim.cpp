#include "core/train/optim/optim.h"

#include <cmath>

#include "core/base/error.h"
#include "core/base/text.h"
#include "core/train/optim/fused_adamw.h"

namespace satclip::core {
namespace {

// Biases, norm weights (1-d weights) and the logit scale: no weight decay under SatCLIP's practice.
bool is_no_decay(const std::string& name, const torch::Tensor& p) {
  return name == "logit_scale" || ends_with(name, ".bias") || p.dim() <= 1;
}

}  // namespace

int64_t ParamGroup::numel() const {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

std::vector<ParamGroup> make_param_groups(SatClip& model, const OptimConfig& o, const LossConfig& loss) {
  const bool split_decay = loss.kind == LossKind::kInfoNce;
  std::vector<ParamGroup> groups = {{"image", {}, {}, o.lr_image, o.weight_decay},
                                    {"location", {}, {}, o.lr_location, o.weight_decay},
                                    {"projection", {}, {}, o.lr_projection, o.projection_weight_decay}};
  const size_t base = groups.size();
  for (size_t g = 0; g < base; ++g) groups.push_back({groups[g].name + "/no_decay", {}, {}, groups[g].lr, 0.0});
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    const std::string& name = p.key();
    size_t g = 2;
    if (starts_with(name, "image_encoder.")) {
      g = 0;
    } else if (starts_with(name, "location_encoder.")) {
      g = 1;
    }
    if (split_decay && is_no_decay(name, p.value())) g += base;
    groups[g].names.push_back(name);
    groups[g].params.push_back(p.value());
  }
  std::vector<ParamGroup> out;
  for (auto& g : groups) {
    if (!g.params.empty()) out.push_back(std::move(g));
  }
  return out;
}

std::unique_ptr<torch::optim::AdamW> make_optimizer(const std::vector<ParamGroup>& groups, const OptimConfig& o,
                                                    const torch::Device& device) {
  SATCLIP_CHECK(!groups.empty(), "the model has no trainable parameters",
                "unfreeze something: model.freeze_image_encoder=false, or a trainable location encoder");
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (const auto& g : groups) {
    auto options = std::make_unique<torch::optim::AdamWOptions>(g.lr);
    options->betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(g.weight_decay);
    torch_groups.emplace_back(g.params, std::move(options));
  }
  torch::optim::AdamWOptions defaults(o.lr_projection);
  defaults.betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay);
  if (o.fused == Switch::kOn || (o.fused == Switch::kAuto && (device.is_cuda() || device.is_cpu()))) {
    return std::make_unique<FusedAdamW>(std::move(torch_groups), defaults);
  }
  return std::make_unique<torch::optim::AdamW>(std::move(torch_groups), defaults);
}

LrSchedule::LrSchedule(const OptimConfig& optim, int64_t total_steps) : optim_(optim), total_(total_steps) {}

double LrSchedule::factor(int64_t step) const {
  double f = 1.0;
  if (optim_.warmup_steps > 0 && step <= optim_.warmup_steps) f = double(step) / double(optim_.warmup_steps);
  if (optim_.scheduler == Scheduler::kCosine && step > optim_.warmup_steps) {
    const double span = std::max<double>(1.0, double(total_ - optim_.warmup_steps));
    const double t = std::min(1.0, double(step - optim_.warmup_steps) / span);
    f = 0.5 * (1.0 + std::cos(M_PI * t));
  }
  if (optim_.scheduler == Scheduler::kPlateau) f *= plateau_scale_;
  return f;
}

bool LrSchedule::on_validation(double loss) {
  if (optim_.scheduler != Scheduler::kPlateau || !std::isfinite(loss)) return false;
  if (!has_best_ || loss < best_ * (1.0 - 1e-4)) {
    best_ = loss;
    has_best_ = true;
    bad_ = 0;
    return false;
  }
  if (++bad_ > optim_.plateau_patience) {
    plateau_scale_ *= optim_.plateau_factor;
    bad_ = 0;
    return true;
  }
  return false;
}

void apply_lr(torch::optim::Optimizer& optimizer, const std::vector<ParamGroup>& groups, double factor) {
  auto& torch_groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size() && g < torch_groups.size(); ++g) {
    static_cast<torch::optim::AdamWOptions&>(torch_groups[g].options()).lr(groups[g].lr * factor);
  }
}

}  // namespace satclip::core
