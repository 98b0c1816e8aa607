#pragma once
// One CUDA kernel for the transforms' band layout and scaling into a channels-last batch (see
// transforms.cpp). Plain C++: no torch and no CUDA headers, so only bands_kernel.cu needs nvcc.
#include <cstdint>

namespace satclip::data {

struct BandsToChannelsLast {
  static constexpr int kMaxChannels = 32;
  const uint16_t* in = nullptr;   // [n, stored, h, w] with the element strides below
  int64_t n = 0, h = 0, w = 0;
  int64_t stride_n = 0, stride_c = 0, stride_h = 0, stride_w = 0;
  float* out = nullptr;           // [n, h, w, channels] contiguous: NCHW sizes in channels-last
  int channels = 0;               // at most kMaxChannels
  int source[kMaxChannels] = {};  // stored band of each output channel; -1: the channel is 0
  // out = fma(float(in), mul, add), rounded once: x * (1 / 10000) as ATen's CUDA division by a
  // CPU scalar computes it (mul = 1 / 10000 in float, add = 0), or 2x - 1 (exact for uint16).
  float mul = 1, add = 0;
};

// Launches the kernel on `cuda_stream` (a cudaStream_t) of the current device. Throws
// satclip::Error if the launch fails or the sizes are out of the kernel's range.
void launch_bands_to_channels_last(const BandsToChannelsLast& p, void* cuda_stream);

}  // namespace satclip::data
