// The trainer's use of the frozen-encoder feature cache (feature_cache.h): set-up and the
// per-epoch batch source.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/train/trainer_state.h"

namespace satclip::core {

void check_feature_cache(const Trainer::State& s) { check_feature_cache_recipe(s.recipe); }

void setup_feature_cache(Trainer::State& s) {
  const auto setting = feature_cache_setting(s.recipe);
  if (!setting.on()) return;
  const auto& r = s.recipe;
  const bool bf16 = r.train.precision == Precision::kBf16 && s.runtime.device.is_cuda();
  FeatureCacheRequest req;
  req.dir = setting.dir;
  req.key = feature_cache_key(r, s.data.shards, s.model, bf16);
  auto& enc = req.encoding;
  enc.indices = s.data.split.train;
  enc.indices.insert(enc.indices.end(), s.data.split.val.begin(), s.data.split.val.end());
  std::sort(enc.indices.begin(), enc.indices.end());
  enc.views = r.data.crop == Crop::kRandom || r.data.flips ? r.data.feature_cache_views : 0;
  enc.chunk = 64;
  enc.seed = uint64_t(r.run.seed);
  enc.dataset = s.data.dataset;
  enc.transforms = s.transforms;
  enc.loader = loader_options(r.data, enc.chunk, s.runtime.device.is_cuda(), s.runtime.cpus.share);
  enc.device = s.runtime.device;
  enc.bf16 = bf16;
  enc.stop_on_signal = true;  // a stop signal ends the build at once (nothing to checkpoint yet): exit 75
  s.features = open_feature_cache(s.model, req, *s.comm);
  s.val_set.features = s.features;
  spdlog::info("training from the feature cache: no tile reading, no image encoder in the step");
}

std::vector<int64_t> epoch_indices(const Trainer::State& s, int64_t epoch, int64_t cursor) {
  const int64_t samples = steps_from(s, cursor) * s.plan.grad_accum * s.plan.per_rank;
  std::vector<int64_t> indices;
  for (int64_t pos : s.sampler->indices(epoch, cursor)) {
    if (int64_t(indices.size()) == samples) break;
    indices.push_back(s.data.split.train[size_t(pos)]);
  }
  return indices;
}

std::unique_ptr<BatchSource> epoch_batches(Trainer::State& s, int64_t epoch, std::vector<int64_t> indices) {
  if (s.features) {
    const uint64_t view_seed = uint64_t(s.recipe.run.seed) * 0x9e3779b97f4a7c15ULL + uint64_t(epoch);
    return feature_batches(s.features, s.data.dataset, std::move(indices), s.plan.per_rank, s.transforms,
                           s.runtime.device, view_seed);
  }
  return image_batches(s.data.dataset, std::move(indices),
                       loader_options(s.recipe.data, s.plan.per_rank, s.runtime.device.is_cuda(), s.runtime.cpus.share),
                       s.transforms, s.runtime.device);
}

}  // namespace satclip::core
