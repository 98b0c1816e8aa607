// Contrastive losses over the global batch. Every rank passes its local embeddings; they are
// gathered with all_gather_with_grad, so after GradReducer averages the gradients every rank
// holds exactly the gradient of the single-process loss on the concatenated batch.
//
// soft_clip (the seed): with I, L the [B, D] image and location embeddings (not normalised),
//   logits = L I^T / T, targets = softmax_rows((I I^T + L L^T) / 2 * T),
//   loss = mean_i( (CE_soft(logits^T, targets^T)_i + CE_soft(logits, targets)_i) / 2 ).
//   The row softmax of the targets needs the whole global matrix, so it runs on gathered rows.
// info_nce (SatCLIP): L2-normalised embeddings, logits = exp(logit_scale) I L^T, symmetric cross
//   entropy against the diagonal. The local variant computes only this rank's rows against all
//   gathered columns (O(B_local x B_global) memory) and is exact as well.
#pragma once

#include <torch/torch.h>

#include "core/recipe/recipe.h"
#include "distributed/communicator.h"

namespace satclip::core {

struct LossResult {
  // What to call backward() on. For the global losses it is the global loss on every rank; for
  // the local variant it is this rank's share, scaled so that the mean over ranks is the loss.
  torch::Tensor objective;
};

// The seed's soft-target loss on already gathered [B_global, D] embeddings.
torch::Tensor soft_clip_loss(const torch::Tensor& image, const torch::Tensor& location, double temperature);

// InfoNCE on already gathered embeddings (normalised inside).
torch::Tensor info_nce_loss(const torch::Tensor& image, const torch::Tensor& location,
                            const torch::Tensor& logit_scale);

// The configured loss on this rank's local embeddings (gathers them through `comm`).
LossResult contrastive_loss(const LossConfig& config, const torch::Tensor& image_local,
                            const torch::Tensor& location_local, const torch::Tensor& logit_scale,
                            dist::Communicator& comm);

}  // namespace satclip::core
