// Learner: what a run trains and how it updates it: the SatCLIP model, its optimizer groups and
// AdamW, the gradient reducer (more than one rank), and which weights it started from.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/optim/adamw.h>

#include "core/model/satclip.h"
#include "core/recipe/recipe.h"
#include "core/train/optim/optim.h"
#include "distributed/grad_reducer.h"
#include "distributed/runtime.h"

namespace satclip::core {

struct Learner {
  SatClip model{nullptr};
  std::vector<ParamGroup> groups;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<dist::GradReducer> reducer;  // null on one rank, and in a dry run
  std::vector<std::string> weight_reports;     // one line per model.*weights file loaded
  // The learning rate the run reports (its "lr"): the projection heads' base rate, which every
  // model trains; the other groups' rates are the recipe's optim.lr_* times the same factor.
  double reported_lr() const;
};

// Checks that the recipe's model.*weights files exist (the error names the key and where to get
// the file).
void check_weight_files(const ModelConfig& model);

// The model seeded by run.seed with its pretrained weights, on the runtime's device, rank 0's
// parameters broadcast to every rank; its optimizer, and (several ranks, not `dry_run`) the
// gradient reducer. Collective.
Learner build_learner(const Recipe& recipe, const dist::Runtime& runtime, dist::Communicator& comm, bool dry_run);

}  // namespace satclip::core
