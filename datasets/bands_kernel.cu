#include "datasets/bands_kernel.h"

#include <cuda_runtime.h>

#include <climits>

#include "core/base/error.h"

namespace satclip::data {
namespace {

// A block takes kTile consecutive pixels of one sample. It reads each output channel's pixels as
// one coalesced run of its stored band into shared memory (scaled), then writes the tile's
// pixels x channels floats, which are one contiguous run of the channels-last output. Writing
// straight from the band planes would store 4 bytes at a stride of 4 x channels per band: every
// output sector written once per band. Shared memory holds the tile pixel-major with an odd
// pitch (channels, or channels + 1 when even), so that the 32 pixels of a warp's first-phase
// stores and the consecutive channels of its second-phase loads fall in distinct banks.
constexpr int kTile = 256;
constexpr int kThreads = kTile;

__global__ void bands_to_channels_last(BandsToChannelsLast p, int64_t tiles_per_sample) {
  extern __shared__ float tile[];  // [kTile][pitch]
  const int64_t pixels = p.h * p.w;
  const int64_t sample = blockIdx.x / tiles_per_sample;
  const int64_t first = (blockIdx.x % tiles_per_sample) * kTile;
  const int count = static_cast<int>(pixels - first < kTile ? pixels - first : kTile);
  const int pitch = p.channels | 1;
  const int t = static_cast<int>(threadIdx.x);  // kThreads == kTile: one pixel per thread here
  if (t < count) {
    const int64_t q = first + t;
    const int64_t at = p.stride_h == p.w * p.stride_w ? q * p.stride_w : q / p.w * p.stride_h + q % p.w * p.stride_w;
    const uint16_t* in = p.in + sample * p.stride_n + at;
    for (int c = 0; c < p.channels; ++c) {
      const int band = p.source[c];
      tile[t * pitch + c] = band < 0 ? 0.0f : __fmaf_rn(static_cast<float>(in[band * p.stride_c]), p.mul, p.add);
    }
  }
  __syncthreads();
  // Element e of the tile's output is pixel e / channels, channel e % channels; both advance by
  // fixed steps as e advances by kThreads, which spares a division per element.
  float* out = p.out + (sample * pixels + first) * p.channels;
  const int step_i = kThreads / p.channels, step_c = kThreads % p.channels;
  int i = t / p.channels, c = t % p.channels;
  for (int e = t; e < count * p.channels; e += kThreads) {
    out[e] = tile[i * pitch + c];
    i += step_i;
    c += step_c;
    if (c >= p.channels) {
      c -= p.channels;
      ++i;
    }
  }
}

}  // namespace

void launch_bands_to_channels_last(const BandsToChannelsLast& p, void* cuda_stream) {
  SATCLIP_CHECK(p.channels > 0 && p.channels <= BandsToChannelsLast::kMaxChannels,
                cat("the band kernel takes 1 to ", BandsToChannelsLast::kMaxChannels, " channels, not ", p.channels),
                "");
  if (p.n == 0 || p.h == 0 || p.w == 0) return;
  const int64_t tiles = (p.h * p.w + kTile - 1) / kTile;
  SATCLIP_CHECK(tiles <= INT_MAX / p.n, cat("the band kernel's grid (", p.n, " x ", tiles, " blocks) is too large"),
                "use smaller batches");
  const size_t shared = sizeof(float) * kTile * static_cast<size_t>(p.channels | 1);
  bands_to_channels_last<<<static_cast<unsigned>(p.n * tiles), kThreads, shared,
                           static_cast<cudaStream_t>(cuda_stream)>>>(p, tiles);
  const cudaError_t status = cudaGetLastError();
  SATCLIP_CHECK(status == cudaSuccess, cat("the band kernel failed to launch: ", cudaGetErrorString(status)), "");
}

}  // namespace satclip::data
