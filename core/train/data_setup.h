// The recipe -> data glue: where the shards are (making the synthetic sample when asked), the
// train/validation split, per-rank batch sizes, and the loader and transform options.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/recipe/recipe.h"
#include "core/train/plan/run_plan.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "datasets/transforms.h"

namespace satclip::dist {
class Communicator;
}

namespace satclip::core {

// The shard folder for data.path: the path itself, or for "synthetic" the folder of the synthetic
// sample next to the run directory (output.dir/../synthetic-v<version>-<count>x<size>px), which rank 0
// writes when it is absent (atomically: a temporary folder renamed into place) while the others
// wait. Collective when `comm` is given.
std::string resolve_shards(const Recipe& recipe, dist::Communicator* comm);

// What the trainer reads: the dataset and its split.
struct TrainData {
  std::string shards;
  std::shared_ptr<const data::ShardedDataset> dataset;
  data::Split split;
  std::string verified_record;  // data.verify: what to write into RunDir::verified_record() ("": nothing new)
};
// Opens (and validates) the shards and splits them by data.val_fraction / data.split_seed.
// Checks that one global batch fits into the training split. With data.verify, first verifies the
// shards (data_verify.h; unless output.dir's record says this state was verified) with up to
// min(8, rank_cpus) child processes per rank (<= 0: satclip-pack's default).
TrainData open_train_data(const Recipe& recipe, const BatchPlan& plan, dist::Communicator* comm, int rank_cpus = 0);

data::TransformOptions transform_options(const DataConfig& data);
// data.workers: auto: the CPUs this rank may count on (Runtime::cpus.share: its affinity mask,
// shared with the node's ranks that may run on the same CPUs), one left to the rank's own
// thread: max(1, min(16, rank_cpus - 1)).
int auto_workers(int rank_cpus);
// data.prefetch: auto: workers + 2. The loader builds at most `prefetch` batches ahead of the step,
// so with fewer slots than threads the extra threads idle; two more let every thread build while
// two finished batches wait for the step.
int auto_prefetch(int workers);
// `rank_cpus` (Runtime::cpus.share) resolves data.workers and data.prefetch: auto; a single-process
// tool (satclip-embed, satclip-eval) leaves it out and gets the CPUs of its own affinity mask.
data::LoaderOptions loader_options(const DataConfig& data, int64_t batch_size, bool pin_memory, int rank_cpus = -1);

}  // namespace satclip::core
