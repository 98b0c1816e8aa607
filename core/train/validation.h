// Validation over the whole validation split, identical for any world size: each rank encodes
// the validation tiles at positions rank, rank + world, ... (eval mode, no grad); the embeddings
// are gathered and put in dataset order; then every rank computes
//   - the loss: the mean over consecutive chunks of one global batch of the recipe's loss,
//     weighted by chunk size (chunks in dataset order, so the figure does not depend on the
//     world size);
//   - image -> location retrieval against the gallery (the validation locations, or the
//     train.val_gallery CSV): top-1 / top-5 (is the image's own location retrieved), accuracy
//     within 25 / 200 / 750 / 2500 km and the median great-circle error of the top-1 location.
// Similarity is the loss's: dot product for soft_clip, cosine for info_nce.
#pragma once

#include <memory>
#include <vector>

#include "core/infer/geo.h"
#include "core/model/satclip.h"
#include "core/recipe/recipe.h"
#include "core/train/cache/feature_cache.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "datasets/transforms.h"
#include "distributed/communicator.h"

namespace satclip::core {

struct ValidationSet {
  std::shared_ptr<const data::ShardedDataset> dataset;
  std::vector<int64_t> indices;   // the validation split (global dataset indices, ascending)
  data::TransformOptions transforms;
  data::LoaderOptions loader;
  torch::Device device{torch::kCPU};
  int64_t chunk = 1;              // the loss's chunk: one global batch
  torch::Tensor gallery_latlon;   // [G, 2] degrees, or undefined: the validation locations
  std::shared_ptr<const FeatureCache> features;  // the frozen encoder's cached output, or null
};

struct ValResult {
  double loss = 0;
  RetrievalMetrics retrieval;
};

// Collective. Leaves the model in training mode.
ValResult validate(SatClip& model, const LossConfig& loss, const ValidationSet& set, dist::Communicator& comm);

}  // namespace satclip::core
