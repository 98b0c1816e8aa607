#include "core/train/data_setup.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/train/data_verify.h"
#include "core/train/run_dir.h"
#include "datasets/synth.h"
#include "distributed/communicator.h"
#include "distributed/cpu_share.h"

namespace satclip::core {

std::string resolve_shards(const Recipe& r, dist::Communicator* comm) {
  if (r.data.path != "synthetic") return r.data.path;
  namespace fs = std::filesystem;
  const fs::path run_dir = fs::absolute(r.output.dir).lexically_normal();
  const fs::path dir = run_dir.parent_path() / cat("synthetic-v", data::kSynthVersion, "-", r.data.synthetic_count, "x", r.data.synthetic_size, "px");
  const bool writer = comm == nullptr || comm->rank() == 0;
  if (writer && !fs::exists(dir / "manifest.json")) {
    const std::string tmp = dir.string() + ".partial-" + std::to_string(::getpid());
    remove_tree(tmp);
    data::SynthOptions o;
    o.count = r.data.synthetic_count;
    o.size = static_cast<int>(r.data.synthetic_size);
    o.seed = 0;
    data::write_synthetic_shards(tmp, o, o.count >= 4096 ? 4 : 1);
    std::error_code ec;
    fs::rename(tmp, dir, ec);
    if (ec && !fs::exists(dir / "manifest.json")) {  // another job may have won the race
      remove_tree(tmp);
      SATCLIP_FAIL(cat("could not move the synthetic sample into ", dir.string(), ": ", ec.message()),
                   "check that the folder above output.dir is writable");
    }
    remove_tree(tmp);
  }
  if (comm) comm->barrier();
  return dir.string();
}

TrainData open_train_data(const Recipe& r, const BatchPlan& plan, dist::Communicator* comm, int rank_cpus) {
  TrainData d;
  d.shards = resolve_shards(r, comm);
  if (r.data.verify) {
    d.verified_record = verify_shards(d.shards, std::min(rank_cpus, 8), RunDir(r.output.dir).verified_record(), comm);
  }
  d.dataset = data::ShardedDataset::open(d.shards);
  d.split = d.dataset->split(r.data.val_fraction, static_cast<uint64_t>(r.data.split_seed));
  const auto train = static_cast<int64_t>(d.split.train.size());
  SATCLIP_CHECK(train >= plan.global(),
                cat("data.path ", d.shards, ": the training split has ", train, " tiles, fewer than one global batch of ",
                    plan.global(), " (", plan.per_rank, " per rank x ", plan.world, " ranks)"),
                "use a smaller data.batch_size / data.global_batch_size, fewer ranks, or more data");
  return d;
}

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
