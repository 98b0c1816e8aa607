// The trainer's state, shared by its translation units (set-up in trainer_setup.cpp, the loop
// in trainer.cpp). Internal to core/train.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <cstdio>

#include "core/model/satclip.h"
#include "core/train/batch_source.h"
#include "core/train/feature_cache.h"
#include "core/train/checkpoint.h"
#include "core/train/data_setup.h"
#include "core/train/optim.h"
#include "core/train/run_log.h"
#include "core/train/step_checks.h"
#include "core/train/step_graph.h"
#include "core/train/trainer.h"
#include "distributed/grad_reducer.h"
#include "distributed/local_communicator.h"
#include "datasets/sampler.h"

namespace satclip::core {

// Where training starts: step 0, or a checkpoint's position.
struct StartPoint {
  int64_t step = 0, epoch = 0, cursor = 0;  // cursor: global sample position inside `epoch`
  std::string from;                         // the checkpoint directory, "" for a fresh run
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

struct Trainer::State {
  Recipe recipe;
  dist::Runtime runtime;
  dist::Communicator* comm = nullptr;
  dist::LocalCommunicator local;  // the loss's communicator when loss.gather=false
  TrainOptions options;
  BatchPlan plan;
  TrainData data;                 // dataset unset in a dry run of the synthetic sample
  int64_t train_size = 0, val_size = 0;
  SatClip model{nullptr};
  std::vector<std::string> weight_reports;
  std::vector<ParamGroup> groups;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<dist::GradReducer> reducer;
  std::unique_ptr<data::DistributedSampler> sampler;  // over the training split
  data::TransformOptions transforms;                  // from the recipe's data section
  int64_t steps_per_epoch = 0, total_steps = 0;
  std::unique_ptr<MetricsLog> metrics;
  ValidationSet val_set;
  double best_val = 0;
  bool has_best = false;
  StartPoint start;
  std::string resume_note;                            // --resume: where training continues
  std::unique_ptr<CheckpointWriter> writer;           // rank 0
  std::unique_ptr<std::FILE, FileCloser> sample_log;  // SATCLIP_SAMPLE_LOG: every consumed index
  std::shared_ptr<const FeatureCache> features;       // data.feature_cache, or null
  StepCompute compute;                                // the step's loss and precision
  std::unique_ptr<StepGraph> graph;                   // train.cuda_graphs, where it applies
  bool defer_reads = false;                           // train.host_sync resolved to log
  DeferredChecks deferred;                            // the device's verdicts between read steps
  std::string graph_fallback;                         // the last reason a step ran eagerly
};

// Set-up steps (trainer_setup.cpp).
void check_weight_files(const ModelConfig& model);
void build_model(Trainer::State& s);
void prepare_run_dir(Trainer::State& s);
// The step's compute settings, and train.cuda_graphs' graph where it applies (logs why not).
void setup_step(Trainer::State& s);
void plan_steps(Trainer::State& s);
// Optimizer steps in an epoch entered at global sample position `cursor`.
int64_t steps_from(const Trainer::State& s, int64_t cursor);
// What follows a step, known before it and the same on every rank: a log line (every
// train.log_every steps, the last step, every step with --debug), validation (every
// train.val_every_steps, the end of every train.val_every_epochs-th epoch, the last step) and a
// scheduled checkpoint (every checkpoint.every_steps, the end of every checkpoint.every_epochs-th
// epoch, the last step; a new best or a stop signal add one). With train.host_sync: log these are
// the steps that read on the host.
struct StepEvents {
  bool log = false, validate = false, checkpoint = false;
  bool any() const { return log || validate || checkpoint; }
};
StepEvents step_events(const Trainer::State& s, int64_t epoch, int64_t step, bool epoch_end);
// metrics.jsonl: a fresh file, or (resuming) the earlier lines up to the start step, appended to.
void open_metrics(Trainer::State& s);
// data.feature_cache: checks the recipe (any run, dry runs too), then (not in a dry run) loads or
// builds the cache and hands it to validation. Collective.
void check_feature_cache(const Trainer::State& s);
void setup_feature_cache(Trainer::State& s);
// The global dataset indices this rank trains on in `epoch` from global sample position `cursor`,
// in order: steps_from(s, cursor) steps' worth.
std::vector<int64_t> epoch_indices(const Trainer::State& s, int64_t epoch, int64_t cursor);
// The training batches of `epoch` over `indices` (global dataset indices in order): from the
// feature cache when there is one, else through the loader (whose source takes the next epoch's
// indices through BatchSource::append).
std::unique_ptr<BatchSource> epoch_batches(Trainer::State& s, int64_t epoch, std::vector<int64_t> indices);

// Checkpoints (trainer_checkpoint.cpp).
// --resume: finds the checkpoint (rank 0 decides, every rank reads it), checks the recipe, and
// restores model, optimizer, schedule, RNG states and the start position; in a dry run only the
// checks, the model's weights and the position (resume_note says where). Collective.
void resume_run(Trainer::State& s);
// The metrics a checkpoint records: the last loss and lr, and the last validation if any.
std::vector<std::pair<std::string, double>> checkpoint_metrics(const FitResult& r, double lr);
// Snapshots the state at the end of step `step` (position: epoch + cursor to continue from) and
// hands it to the background writer (rank 0). Collective (gathers RNG states).
void save_checkpoint(Trainer::State& s, int64_t step, int64_t epoch, int64_t cursor, bool is_best,
                     const std::vector<std::pair<std::string, double>>& metrics);
// Rank 0: the model as checkpoints/best.pt. A failure (full disk, unwritable folder) is logged
// with the file and the cause, and training goes on, as after a failed checkpoint.
void save_best_copy(Trainer::State& s);

}  // namespace satclip::core
