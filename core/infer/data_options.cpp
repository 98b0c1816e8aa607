#include "core/infer/data_options.h"

#include <algorithm>

#include "distributed/cpu_share.h"

namespace satclip::core {

data::TransformOptions transform_options(const DataConfig& d) {
  data::TransformOptions t;
  t.scaling = d.scaling;
  t.band_layout = d.band_layout;
  t.crop = d.crop;
  t.image_size = d.image_size;
  t.flips = d.flips;
  t.coord_jitter_deg = d.coord_jitter_deg;
  return t;
}

int auto_workers(int rank_cpus) { return std::max(1, std::min(16, rank_cpus - 1)); }

int auto_prefetch(int workers) { return std::max(1, workers) + 2; }

data::LoaderOptions loader_options(const DataConfig& d, int64_t batch_size, bool pin_memory, int rank_cpus) {
  data::LoaderOptions o;
  o.batch_size = batch_size;
  if (rank_cpus < 0) rank_cpus = dist::count_cpus(dist::this_process_cpus());
  o.workers = d.workers == kAuto ? auto_workers(rank_cpus)
                                 : static_cast<int>(std::max<int64_t>(1, d.workers));
  o.prefetch = d.prefetch == kAuto ? auto_prefetch(o.workers) : static_cast<int>(std::max<int64_t>(1, d.prefetch));
  o.pin_memory = pin_memory;
  return o;
}

}  // namespace satclip::core
