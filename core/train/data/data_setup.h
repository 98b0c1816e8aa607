// The recipe -> training data glue: where the shards are (making the synthetic sample when asked)
// and the train/validation split. The loader and transform options: core/infer/data_options.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/infer/data_options.h"
#include "core/recipe/recipe.h"
#include "core/train/plan/run_plan.h"
#include "datasets/dataset.h"

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

}  // namespace satclip::core
