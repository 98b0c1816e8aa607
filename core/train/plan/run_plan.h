// RunPlan: the arithmetic of a training run, as a value. Built from the recipe, the data set's
// sizes, the world size and where the run starts (step 0 or a checkpoint's position), it says
// everything about the run that does not depend on tensors: how many steps an epoch has, which
// samples of the training split every rank reads in every micro-batch, which steps log,
// validate and checkpoint, where the run stops, and where a run stopped after any step continues.
//
// The invariant it keeps (tested in tests/train/test_run_plan.cpp): an epoch's samples are the
// positions of its global order (data::DistributedSampler) in sequence, and optimizer step k of
// an epoch entered at position `cursor` consumes exactly the positions
// [cursor + k * per_step, cursor + (k + 1) * per_step) over all ranks, where per_step =
// per_rank * world * grad_accum (with data.drop_last off, the epoch's last micro-batches are
// smaller; the wrapped-around padding makes every rank's share equal). So a run stopped after any
// step and resumed at any world size neither repeats nor skips a sample of its epoch.
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/sampler.h"

namespace satclip::core {

struct Recipe;

// Per-rank and global batch: data.global_batch_size (when set) divided by the world size, else
// data.batch_size per rank. Throws a satclip::Error naming the key when the global batch does not
// divide.
struct BatchPlan {
  int64_t per_rank = 0;
  int64_t world = 1;
  int64_t grad_accum = 1;
  int64_t global() const { return per_rank * world; }                 // one micro-batch, all ranks
  int64_t per_step() const { return per_rank * world * grad_accum; }  // samples per optimizer step
};
BatchPlan plan_batches(const Recipe& recipe, int world_size);

// Where a run is after `step` optimizer steps: in epoch `epoch` (0-based), `cursor` samples (over
// all ranks) into that epoch's global order. A checkpoint records it.
struct RunPosition {
  int64_t step = 0, epoch = 0, cursor = 0;
  bool operator==(const RunPosition& o) const { return step == o.step && epoch == o.epoch && cursor == o.cursor; }
};

// When things happen (the recipe's train.* and checkpoint.* keys).
struct RunCadence {
  int64_t epochs = 1;
  int64_t max_steps = 0;        // > 0: stop after this many steps (train.max_steps)
  int64_t log_every = 1;        // train.log_every
  bool log_every_step = false;  // --debug
  int64_t val_every_steps = 0, val_every_epochs = 1;
  int64_t checkpoint_every_steps = 0, checkpoint_every_epochs = 0;
};

// What follows a step, the same on every rank: a log line (every log_every steps, the last step,
// every step with --debug), validation (every val_every_steps, the end of every
// val_every_epochs-th epoch, the last step; never without a validation split) and a scheduled
// checkpoint (every checkpoint_every_steps, the end of every checkpoint_every_epochs-th epoch, the
// last step; a new best or a stop signal add one at run time). With train.host_sync: log these are
// the steps that read on the host.
struct StepEvents {
  bool log = false, validate = false, checkpoint = false;
  bool any() const { return log || validate || checkpoint; }
};

// One epoch as the run trains it: entered at `cursor`, its steps numbered first_step + 1 ..
// first_step + steps; `rest` is the epoch's steps from `cursor` (steps < rest when max_steps
// cuts the epoch short).
struct EpochPlan {
  int64_t epoch = 0, cursor = 0, first_step = 0, steps = 0, rest = 0;
  bool ends_epoch(int64_t step) const { return step - first_step == rest; }
};

class RunPlan {
 public:
  RunPlan() = default;  // no steps
  // A fresh run. Throws satclip::Error when an epoch holds fewer micro-batches per rank than
  // grad_accum.
  RunPlan(BatchPlan batch, int64_t train_size, int64_t val_size, data::SamplerOptions sampling, RunCadence cadence);
  // From the recipe (data.*, train.*, checkpoint.*, run.seed); `debug`: --debug's log cadence.
  static RunPlan from_recipe(const Recipe& recipe, int world_size, int64_t train_size, int64_t val_size,
                             bool debug = false);

  // The same run continued from `position` (a checkpoint's, written at any world size), at this
  // plan's world size: the rest of that epoch, then whole epochs, to train.epochs or max_steps.
  // When the epoch's rest is shorter than one step, the run continues at the next epoch's start.
  // Throws satclip::Error when the position lies beyond the training split.
  RunPlan resumed_at(RunPosition position) const;

  const BatchPlan& batch() const { return batch_; }
  const RunCadence& cadence() const { return cadence_; }
  int64_t train_size() const { return train_size_; }
  int64_t val_size() const { return val_size_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t total_steps() const { return total_steps_; }
  const RunPosition& start() const { return start_; }

  // Optimizer steps in an epoch entered at global position `cursor`.
  int64_t steps_from(int64_t cursor) const;
  // The epochs from start() to total_steps(), in order (none when the run is complete).
  std::vector<EpochPlan> epochs() const;
  // Positions in the training split (0 .. train_size-1) that `rank` reads in `e`, in order: its
  // micro-batches of per_rank samples one after the other (the last ones smaller at a padded end).
  std::vector<int64_t> rank_samples(const EpochPlan& e, int rank) const;
  // The samples of `rank` in micro-batch `micro` of the epoch's k-th step (0-based), a slice of
  // rank_samples(e, rank).
  std::vector<int64_t> micro_batch(const EpochPlan& e, int64_t k, int64_t micro, int rank) const;
  // What follows step `step` (first_step < step <= first_step + steps) of `e`.
  StepEvents events(const EpochPlan& e, int64_t step) const;
  // Where a run stopped after step `step` of `e` continues: at an epoch's end, the next epoch's start.
  RunPosition after(const EpochPlan& e, int64_t step) const;

 private:
  BatchPlan batch_;
  int64_t train_size_ = 0, val_size_ = 0;
  data::SamplerOptions sampling_;
  RunCadence cadence_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0;
  RunPosition start_;
};

}  // namespace satclip::core
