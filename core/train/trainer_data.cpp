// The trainer's data: the split and the run plan over it, the input pipeline (loader, transforms,
// validation set, feature cache), each epoch's batch source, and the run directory.
#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/hash.h"
#include "core/infer/coords_csv.h"
#include "core/recipe/config.h"
#include "core/train/step_compute.h"
#include "core/train/trainer_parts.h"

namespace satclip::core {

void open_data(Trainer::State& s) {
  const auto& r = s.recipe;
  const BatchPlan batch = plan_batches(r, s.comm->size());
  int64_t train_size = 0, val_size = 0;
  if (r.data.path == "synthetic" && s.options.dry_run) {  // a dry run does not write the synthetic sample
    val_size = std::llround(double(r.data.synthetic_count) * r.data.val_fraction);
    train_size = r.data.synthetic_count - val_size;
    SATCLIP_CHECK(train_size >= batch.global(),
                  cat("the synthetic sample's training split has ", train_size, " tiles, fewer than one global batch of ",
                      batch.global()),
                  "raise data.synthetic_count or lower the batch size");
  } else {
    s.data = open_train_data(r, batch, s.comm, s.runtime.cpus.share);
    train_size = static_cast<int64_t>(s.data.split.train.size());
    val_size = static_cast<int64_t>(s.data.split.val.size());
  }
  s.plan = RunPlan::from_recipe(r, s.comm->size(), train_size, val_size, s.options.debug);
}

namespace {

std::shared_ptr<const FeatureCache> open_features(const Trainer::State& s, const DataPipeline& p) {
  const auto setting = feature_cache_setting(s.recipe);
  if (!setting.on()) return nullptr;
  const auto& r = s.recipe;
  const bool bf16 = r.train.precision == Precision::kBf16 && s.runtime.device.is_cuda();
  SatClip model = s.learner.model;  // the same module (a holder)
  FeatureCacheRequest req;
  req.dir = setting.dir;
  req.key = feature_cache_key(r, s.data.shards, model, bf16);
  auto& enc = req.encoding;
  enc.indices = s.data.split.train;
  enc.indices.insert(enc.indices.end(), s.data.split.val.begin(), s.data.split.val.end());
  std::sort(enc.indices.begin(), enc.indices.end());
  enc.views = r.data.crop == Crop::kRandom || r.data.flips ? r.data.feature_cache_views : 0;
  enc.chunk = 64;
  enc.seed = uint64_t(r.run.seed);
  enc.dataset = s.data.dataset;
  enc.transforms = p.transforms;
  enc.loader = loader_options(r.data, enc.chunk, s.runtime.device.is_cuda(), s.runtime.cpus.share);
  enc.device = s.runtime.device;
  enc.bf16 = bf16;
  enc.stop_on_signal = true;  // a stop signal ends the build at once (nothing to checkpoint yet): exit 75
  auto features = open_feature_cache(model, req, *s.comm);
  spdlog::info("training from the feature cache: no tile reading, no image encoder in the step");
  return features;
}

}  // namespace

DataPipeline build_pipeline(const Trainer::State& s) {
  const auto& r = s.recipe;
  DataPipeline p;
  p.transforms = transform_options(r.data);
  p.transforms.channels_last = wants_channels_last(r.train, s.runtime.device, r.data.image_size);  // the model's layout
  p.loader = loader_options(r.data, s.plan.batch().per_rank, s.runtime.device.is_cuda(), s.runtime.cpus.share);
  auto& v = p.val_set;
  v.dataset = s.data.dataset;
  v.indices = s.data.split.val;
  v.transforms = p.transforms;
  v.loader = p.loader;
  v.device = s.runtime.device;
  v.chunk = s.plan.batch().global();
  p.features = open_features(s, p);
  v.features = p.features;
  if (!r.train.val_gallery.empty()) {
    const auto coords = read_coords_csv(r.train.val_gallery);
    SATCLIP_CHECK(!coords.empty(), cat("train.val_gallery = ", r.train.val_gallery, ": no locations"),
                  "give a CSV with a lat,lon header and one location per line");
    v.gallery_latlon = torch::empty({int64_t(coords.size()), 2}, torch::kDouble);
    double* ll = v.gallery_latlon.data_ptr<double>();
    for (size_t i = 0; i < coords.size(); ++i) ll[2 * i] = coords[i].lat, ll[2 * i + 1] = coords[i].lon;
  }
  return p;
}

std::vector<int64_t> epoch_indices(const Trainer::State& s, const EpochPlan& e) {
  auto indices = s.plan.rank_samples(e, s.runtime.rank);
  for (auto& pos : indices) pos = s.data.split.train[size_t(pos)];
  return indices;
}

std::unique_ptr<BatchSource> epoch_batches(const Trainer::State& s, const EpochPlan& e) {
  const auto& p = s.pipeline;
  if (p.features) {
    return feature_batches(p.features, s.data.dataset, epoch_indices(s, e), s.plan.batch().per_rank, p.transforms,
                           s.runtime.device, seeded_key(uint64_t(s.recipe.run.seed), uint64_t(e.epoch)));
  }
  return image_batches(s.data.dataset, epoch_indices(s, e), p.loader, p.transforms, s.runtime.device);
}

void prepare_run_dir(const Trainer::State& s) {
  if (s.runtime.is_main()) {
    s.dir.create();
    write_file_atomically(s.dir.config(), recipe_to_yaml(s.recipe));
    // data.verify passed on a changed directory: later starts (a resume) need not read it again.
    if (!s.data.verified_record.empty()) write_file_atomically(s.dir.verified_record(), s.data.verified_record);
  }
  s.comm->barrier();
}

}  // namespace satclip::core
