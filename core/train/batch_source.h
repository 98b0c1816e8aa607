// Where a training step's micro-batches come from: tiles through the loader and the image
// transforms, or rows of the frozen-encoder feature cache (no image reading, no encoder).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "core/train/feature_cache.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "datasets/transforms.h"

namespace satclip::core {

// One micro-batch on the device.
struct StepBatch {
  torch::Tensor images;    // float [B, C, S, S], or undefined when `features` is set
  torch::Tensor features;  // float [B, F] cached image-encoder output, or undefined
  torch::Tensor lat_lon;   // float32 [B, 2] degrees
  torch::Tensor index;     // int64 [B] global dataset indices (CPU)
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // The next micro-batch; `seed` drives its random choices. False when the list is exhausted.
  // Images are written into `out.images` when it is defined on entry and fits (see
  // data::prepare_batch's `into`: a CUDA graph's static input), else into a new tensor.
  virtual bool next(StepBatch& out, uint64_t seed) = 0;
  // Call once the current micro-batch's device work is enqueued: starts moving the one after it to
  // the device, waiting for the loader if need be, so that its copy overlaps this step's compute
  // and the host waits while the device is busy anyway. No-op off CUDA and for cached features.
  virtual void prefetch() {}
  // Device time of the host-to-device copies of the batches handed out since the last call (CUDA;
  // events on the copy stream), for the step-time log line.
  struct CopyTime {
    double ms = 0;
    int64_t batches = 0;
  };
  virtual CopyTime take_copy_time() { return {}; }
};

// Tiles `indices` in order, batches of options.batch_size, transformed for training.
std::unique_ptr<BatchSource> image_batches(std::shared_ptr<const data::ShardedDataset> dataset,
                                           std::vector<int64_t> indices, const data::LoaderOptions& options,
                                           const data::TransformOptions& transforms, const torch::Device& device);

// The same tiles from `cache`: one view per tile (chosen by `view_seed`, e.g. per epoch) when the
// cache holds augmented views; coordinates from the dataset, jittered as prepare_batch does.
std::unique_ptr<BatchSource> feature_batches(std::shared_ptr<const FeatureCache> cache,
                                             std::shared_ptr<const data::ShardedDataset> dataset,
                                             std::vector<int64_t> indices, int64_t batch_size,
                                             const data::TransformOptions& transforms, const torch::Device& device,
                                             uint64_t view_seed);

}  // namespace satclip::core
