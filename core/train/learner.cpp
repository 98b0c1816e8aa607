#include "core/train/learner.h"

#include <filesystem>

#include "core/base/error.h"
#include "core/model/pretrained.h"
#include "core/train/step_compute.h"
#include "distributed/param_sync.h"

namespace satclip::core {

double Learner::reported_lr() const {
  for (const auto& g : groups) {
    if (g.name == "projection") return g.lr;
  }
  return groups.empty() ? 0.0 : groups.back().lr;
}

void check_weight_files(const ModelConfig& m) {
  const struct {
    const char* key;
    const std::string& path;
    const char* where;
  } files[] = {
      {"model.weights", m.weights,
       "a whole-model state dict, e.g. a checkpoints/last.pt of satclip-ddp or the seed's satclip.pt"},
      {"model.image_weights", m.image_weights,
       "torchgeo's ResNet18_Weights.SENTINEL2_ALL_MOCO file resnet18_sentinel2_all_moco-59bfdff9.pth "
       "(python -c \"from torchgeo.models import ResNet18_Weights as W; import torch; "
       "print(W.SENTINEL2_ALL_MOCO.url)\" prints its address)"},
      {"model.location_weights", m.location_weights,
       "GeoCLIP's location_encoder_weights.pth, shipped in the geoclip pip package "
       "(pip install geoclip; it lies in site-packages/geoclip/model/weights/)"},
  };
  for (const auto& f : files) {
    if (f.path.empty()) continue;
    SATCLIP_CHECK(std::filesystem::is_regular_file(f.path),
                  cat(f.key, " = ", f.path, ": no such file"),
                  cat("get ", f.where, ", or set ", f.key, "= (empty) to start from random weights"));
  }
}

Learner build_learner(const Recipe& r, const dist::Runtime& runtime, dist::Communicator& comm, bool dry_run) {
  check_weight_files(r.model);
  configure_device_math(r.train, runtime.device);  // before anything computes on the device
  Learner l;
  torch::manual_seed(static_cast<uint64_t>(r.run.seed));
  l.model = SatClip(r.model, r.loss);
  l.weight_reports = load_pretrained(l.model, r.model);
  l.model->to(runtime.device);
  // Rank 0's initial parameters everywhere (random inits agree anyway; this also checks layout).
  dist::broadcast_parameters(dist::parameters_and_buffers(*l.model), comm);
  if (wants_channels_last(r.train, runtime.device, r.data.image_size)) l.model->use_channels_last();
  l.groups = make_param_groups(l.model, r.optim, r.loss);
  l.optimizer = make_optimizer(l.groups, r.optim, runtime.device);
  if (comm.size() > 1 && !dry_run) {
    dist::GradReducer::NamedTensors params;
    for (const auto& p : l.model->named_parameters()) {
      if (p.value().requires_grad()) params.emplace_back(p.key(), p.value());
    }
    dist::GradReducerOptions o;
    o.first_bucket_bytes = static_cast<int64_t>(r.distributed.first_bucket_mb * (1 << 20));
    o.bucket_bytes = static_cast<int64_t>(r.distributed.bucket_mb * (1 << 20));
    l.reducer = std::make_unique<dist::GradReducer>(params, comm, o);
  }
  return l;
}

}  // namespace satclip::core
