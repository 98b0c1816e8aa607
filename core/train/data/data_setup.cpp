#include "core/train/data/data_setup.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/train/checkpoint/run_dir.h"
#include "core/train/data/data_verify.h"
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

}  // namespace satclip::core
