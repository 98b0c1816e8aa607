// The trainer's state, shared by its translation units (set-up in trainer_setup.cpp, the loop
// in trainer.cpp). Internal to core/train.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/model/satclip.h"
#include "core/train/data_setup.h"
#include "core/train/optim.h"
#include "core/train/run_log.h"
#include "core/train/trainer.h"
#include "distributed/grad_reducer.h"
#include "distributed/local_communicator.h"
#include "datasets/sampler.h"

namespace satclip::core {

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
};

// Set-up steps (trainer_setup.cpp).
void check_weight_files(const ModelConfig& model);
void build_model(Trainer::State& s);
void prepare_run_dir(Trainer::State& s);
void plan_steps(Trainer::State& s);

}  // namespace satclip::core
