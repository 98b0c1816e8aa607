// The trainer's parts, each owned by the Trainer and built, in the order the constructor states,
// from what it needs. Internal to core/train (trainer*.cpp).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/recipe/recipe.h"
#include "core/train/batch_source.h"
#include "core/train/cache/feature_cache.h"
#include "core/train/checkpoint/checkpoint.h"
#include "core/train/checkpoint/run_dir.h"
#include "core/train/data/data_setup.h"
#include "core/train/learner.h"
#include "core/train/optim/optim.h"
#include "core/train/plan/run_plan.h"
#include "core/train/run_recorder.h"
#include "core/train/train_step.h"
#include "core/train/trainer.h"
#include "core/train/validation.h"

namespace satclip::core {

// The best validation loss so far (it picks checkpoints/best.pt; a checkpoint keeps it).
struct BestValidation {
  bool has = false;
  double loss = 0;
  bool improves(double v) const { return !has || v < loss; }
};

// How the run reads: the transforms (in the model's memory layout), the training loader's
// options, the validation set and the frozen encoder's feature cache (data.feature_cache).
struct DataPipeline {
  data::TransformOptions transforms;
  data::LoaderOptions loader;
  ValidationSet val_set;
  std::shared_ptr<const FeatureCache> features;  // or null
};

struct Trainer::State {
  // What the run was given.
  Recipe recipe;
  TrainOptions options;
  dist::Runtime runtime;
  dist::Communicator* comm = nullptr;
  RunDir dir{""};
  // What it reads, and the run's arithmetic over it.
  TrainData data;  // dataset unset in a dry run of the synthetic sample
  RunPlan plan;
  std::string resume_note;  // --resume: where training continues
  // What it trains.
  Learner learner;
  std::unique_ptr<LrSchedule> schedule;
  BestValidation best;
  // How it trains and reports (not in a dry run).
  DataPipeline pipeline;
  std::unique_ptr<StepRunner> stepper;
  std::unique_ptr<RunRecorder> recorder;
  std::unique_ptr<CheckpointWriter> writer;  // rank 0, from the first checkpoint on
};

// Training data and plan (trainer_data.cpp).
// The dataset and split (or, in a dry run of the synthetic sample, the recipe's sizes) and the
// run plan over them. Collective.
void open_data(Trainer::State& s);
// The loader and transform settings, the validation set, data.feature_cache (loaded or built:
// collective) and train.val_gallery.
DataPipeline build_pipeline(const Trainer::State& s);
// The training batches of epoch `e` for this rank: from the feature cache when there is one,
// else through the loader (whose source takes the next epoch's samples by BatchSource::append).
std::unique_ptr<BatchSource> epoch_batches(const Trainer::State& s, const EpochPlan& e);
// This rank's samples of epoch `e` as global dataset indices.
std::vector<int64_t> epoch_indices(const Trainer::State& s, const EpochPlan& e);

// The data and batch lines of describe() and of the run's start-up log (trainer_describe.cpp).
std::vector<std::string> run_summary(const Trainer::State& s);

// Run directory (trainer_data.cpp): rank 0 creates it, writes config.yaml and data.verify's
// record. Collective.
void prepare_run_dir(const Trainer::State& s);

// Checkpoints (trainer_checkpoint.cpp).
// What --resume found: the position to continue from and the schedule and best-validation state.
struct Resumed {
  std::string from;  // the checkpoint directory ("" when there is none: a fresh start)
  RunPosition at;
  LrSchedule::State schedule;
  BestValidation best;
  std::string written;  // "written at N rank(s), <time>"
};
// --resume: finds the checkpoint (rank 0 decides, every rank reads it), checks the recipe, and
// restores the learner's weights, optimizer and the RNG states (in a dry run only the checks and
// the weights). Collective.
Resumed resume_run(Trainer::State& s);
// The metrics a checkpoint records: the last loss and lr, and the last validation if any.
std::vector<std::pair<std::string, double>> checkpoint_metrics(const FitResult& r, double lr);
// Snapshots the state after the step at `at` and hands it to the background writer (rank 0).
// Collective (gathers RNG states).
void save_checkpoint(Trainer::State& s, const RunPosition& at, bool is_best,
                     const std::vector<std::pair<std::string, double>>& metrics);
// Rank 0: the model as checkpoints/best.pt. A failure (full disk, unwritable folder) is logged
// with the file and the cause, and training goes on, as after a failed checkpoint.
void save_best_copy(const Trainer::State& s);

}  // namespace satclip::core
