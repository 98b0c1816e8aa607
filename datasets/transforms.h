// Batch transforms, applied on the device the batch lands on, deterministic for a given seed:
// scaling, band layout (12 -> 13 bands), crop/resize, random flips and coordinate jitter.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "core/base/options.h"
#include "datasets/loader.h"

namespace satclip::data {

struct TransformOptions {
  Scaling scaling = Scaling::kDivide10000;  // divide10000 (SatCLIP) or normalize (seed: (x - 0.5) / 0.5 on raw numbers)
  BandLayout band_layout = BandLayout::kSatclip;  // satclip: zero B10 at index 10; seed: copy of B01 appended; none
  Crop crop = Crop::kResize;                      // resize, random (center when not training), center
  int64_t image_size = 224;
  bool flips = false;                   // random horizontal and vertical flips when training
  double coord_jitter_deg = 0.0;        // + U[0, 1) * jitter on lat and lon when training
  bool channels_last = false;           // images in NHWC strides, for a channels-last model
};

struct Prepared {
  torch::Tensor images;  // float32 [B, C', S, S] on the device, channels-last if the options say so
  torch::Tensor lat;     // float64 [B] on the device
  torch::Tensor lon;     // float64 [B] on the device
};

// How scale_bands writes the float32 batch; each gives the same bits.
enum class ScaleMethod {
  kCopyThenScale,  // a converting copy per band group, then the scaling in place: two float32
                   // passes, cheaper on a CPU, where ATen converts a uint16 input of arithmetic
                   // into a float32 temporary first
  kConvertOnLoad,  // one pass that reads the uint16 bands and writes the scaled float32 values;
                   // cheaper on a GPU, whose kernels convert on load. Channels-last on a GPU: one
                   // kernel of ours (datasets/bands_kernel.h) that also lays out the bands; else
                   // the bands are gathered in output order on the uint16 side first
};
ScaleMethod scale_method_for(const torch::Device& device);

// Scaling and band layout alone: uint16 `raw` [B, stored, H, W] on any device -> float32
// [B, C', H, W] in `format` (into `into` when it fits, as below). prepare_batch's first step.
torch::Tensor scale_bands(const torch::Tensor& raw, const TransformOptions& options, torch::MemoryFormat format,
                          ScaleMethod method, const torch::Tensor& into = {});

// Moves `batch` to `device` (asynchronously from pinned memory) and applies the transforms;
// random choices come from `seed` only, so the same seed gives the same result on any device.
// `into`: when it has the images' shape, float32, `device` and the options' memory format, the
// images are written into it (e.g. a CUDA graph's static input) and Prepared::images is `into`;
// otherwise it is left alone and the images get a new tensor.
Prepared prepare_batch(const Batch& batch, const TransformOptions& options, const torch::Device& device,
                       uint64_t seed, bool training, const torch::Tensor& into = {});

}  // namespace satclip::data
