// Where a training step's micro-batches come from: tiles through the loader and the image
// transforms, or rows of the frozen-encoder feature cache (no image reading, no encoder).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/train/cache/feature_cache.h"
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
  // Queues `indices` (the next epoch's tiles, in order) behind the current list, so that their
  // first batches are read while this list's last ones train. False when the source cannot (then
  // make a new source for them).
  virtual bool append(const std::vector<int64_t>& indices) {
    (void)indices;
    return false;
  }
  // For the step-time log line, over the batches handed out since the last call: the device time
  // of their host-to-device copies (CUDA; events on the copy stream), how many built batches
  // waited in the loader when each was asked for (0 throughout: the loader is the bottleneck),
  // and the loader threads' time since the last call (data::Loader::take_stats).
  struct Stats {
    double copy_ms = 0;
    int64_t copies = 0;  // batches whose copy time is counted
    int64_t waiting = 0;  // summed over `asked`
    int64_t asked = 0;
    data::Loader::Stats loader;
  };
  virtual Stats take_stats() { return {}; }
};

// The step-time line's part for `stats`, e.g. "; loader 2.5 batches ready; copy to cuda:0 4.10
// ms/batch (own stream); loader threads 35.2 ms per batch built (4545 tiles/s each), 80% of their
// time waiting for a free slot"; empty when nothing was counted.
std::string source_summary(const BatchSource::Stats& stats, const torch::Device& device);

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
