// train.cuda_graphs: the forward pass, loss, backward and squared gradient norm of a step with
// static shapes, captured once as a CUDA graph and then replayed: one launch per step instead of
// hundreds of kernel launches, which is what limits a frozen-encoder step on a fast GPU.
//
// Scope: one rank on CUDA (the step then holds no collective), with or without gradient
// accumulation (each micro-batch is one replay; GradMode says how its gradients join the step's).
// The optimizer update stays outside the graph (ATen's fused AdamW is one launch per group), so
// learning-rate schedules, non-finite checks, clipping and checkpoints work as in the eager step.
// A batch of other shapes (the last partial batch) or other inputs (images vs cached features)
// runs eagerly: mismatch() says why, and the caller logs it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/train/step_compute.h"

namespace satclip::core {

// How a replay's gradients become the parameters' gradients.
enum class GradMode {
  kOnly,   // the step's only micro-batch: the parameters' gradients are the graph's own tensors
  kFirst,  // the first of several micro-batches: a copy of them (the next replay overwrites the graph's)
  kAdd,    // a later micro-batch: added to the parameters' current gradients (from a replay or eager)
};

// The mode of micro-batch `micro` (from 0) of a step of `micros`.
inline GradMode grad_mode(int64_t micro, int64_t micros) {
  return micros == 1 ? GradMode::kOnly : micro == 0 ? GradMode::kFirst : GradMode::kAdd;
}

class StepGraph {
 public:
  // `how` must have no timer and no check. Throws satclip::Error when built without CUDA.
  StepGraph(SatClip model, std::vector<ParamGroup> groups, StepCompute how);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // "" when `in` can replay the graph (anything, before the capture), else the reason it cannot.
  std::string mismatch(const StepInputs& in) const;
  // Copies `in` into the graph's inputs and replays it; the first call warms up on a side stream
  // (BatchNorm statistics restored afterwards) and captures. Afterwards the parameters' gradients
  // hold this replay's as `mode` says. Returns {objective, squared gradient norm}, device scalars
  // valid until the next run(); the norm is this replay's, so it is undefined unless `mode` is
  // kOnly (the caller takes the norm of the sum). A failed capture throws satclip::Error; the model
  // and its gradients are then as before the call (the trainer logs it and trains on eagerly).
  std::pair<torch::Tensor, torch::Tensor> run(const StepInputs& in, GradMode mode = GradMode::kOnly);
  bool captured() const;
  // The graph's image input once captured (undefined before, or for cached features). A batch
  // written straight into it saves run() a copy: run() skips copying a tensor onto itself.
  torch::Tensor static_images() const;

  // Whether this build has CUDA graphs (CUDA builds do).
  static bool compiled();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace satclip::core
