// Trainer: the data-parallel training loop of satclip-ddp.
//
// Every rank builds the same model (seeded by run.seed, then rank 0's parameters broadcast), reads
// its share of the training split (DistributedSampler), computes embeddings, gathers them with
// gradient for the loss over the global batch (unless loss.gather=false), backpropagates while
// GradReducer averages gradients in buckets, and takes the same AdamW step. Rank 0 writes the run
// directory (config.yaml, metrics.jsonl, checkpoints/last.pt and best.pt); every rank writes its
// log-rank<N>.txt. Same recipe, seed and world size give identical losses on CPU.
#pragma once

#include <memory>
#include <string>

#include "core/recipe/recipe.h"
#include "core/train/validation.h"
#include "distributed/communicator.h"
#include "distributed/runtime.h"

namespace satclip::core {

struct TrainOptions {
  // One process, one device, train.max_steps defaulting to kDebugSteps, NaN/Inf checks on the
  // loss, the embeddings and every gradient (naming step, tensor and sample indices), timings of
  // every step.
  bool debug = false;
  // Set up everything but the data loading and training; describe() then says what would run.
  bool dry_run = false;
  // "auto": the newest complete checkpoint in output.dir (a fresh start when there is none); a
  // path: that checkpoint, or the newest one under that run directory. "" starts fresh.
  std::string resume;
  // Resume even when the checkpoint's model/data recipe keys differ from this recipe's.
  bool resume_force = false;
};
constexpr int64_t kDebugSteps = 20;

struct FitResult {
  int64_t steps = 0;
  double last_loss = 0;
  bool validated = false;
  ValResult last_val;
  int stop_signal = 0;     // a stop signal ended the run early, after writing `checkpoint`
  std::string checkpoint;  // the last checkpoint written
};

class Trainer {
 public:
  // Collective: validates the recipe against the data, builds and synchronises the model, and
  // creates the run directory. Throws satclip::Error (naming the key or file) on bad input.
  Trainer(Recipe recipe, const dist::Runtime& runtime, dist::Communicator& comm, TrainOptions options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // The --dry-run report: resolved recipe, dataset and split sizes, batches, parameter counts per
  // optimizer group, and the rank/device layout. Collective (gathers the layout).
  std::string describe();
  // Trains to the end (train.epochs, or train.max_steps), writing checkpoints; on SIGTERM, SIGUSR1
  // or SIGINT on any rank, stops at the next step boundary after a checkpoint (stop_signal set).
  // Collective.
  FitResult fit();

  struct State;  // defined in trainer_parts.h (internal to core/train)

 private:
  std::unique_ptr<State> s_;
};

}  // namespace satclip::core
