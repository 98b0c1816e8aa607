// The transform check shared by the CPU test (tests/datasets/test_loader_unit.cpp) and the GPU test
// (tests/gpu/test_gpu_loader.cpp): prepare_batch against the plain definition written out below,
// bit for bit, for every combination of the options, on one device.
#pragma once

#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "datasets/transforms.h"

namespace satclip::testing {

// The definition, one float32 step after the other: scale, band layout (B10 as zeros or B01
// appended), resize or crop, flips, jitter; random draws in that order from `seed`.
inline data::Prepared reference_prepare(const data::Batch& b, const data::TransformOptions& o,
                                        const torch::Device& device, uint64_t seed, bool training) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = b.images.size(0);
  auto x = b.images.to(device).to(torch::kFloat);
  x = o.scaling == Scaling::kDivide10000 ? x / 10000.0 : (x - 0.5) / 0.5;
  if (o.band_layout == BandLayout::kSatclip) {
    x = torch::cat({x.narrow(1, 0, 10), torch::zeros_like(x.narrow(1, 0, 1)), x.narrow(1, 10, 2)}, 1);
  } else if (o.band_layout == BandLayout::kSeed) {
    x = torch::cat({x, x.narrow(1, 0, 1)}, 1);
  }
  const int64_t s = o.image_size, h = x.size(2), w = x.size(3);
  if (o.crop == Crop::kResize || h < s || w < s) {
    if (h != s || w != s) {
      namespace F = torch::nn::functional;
      auto bilinear = F::InterpolateFuncOptions().mode(torch::kBilinear).align_corners(false).antialias(true);
      x = F::interpolate(x, bilinear.size(std::vector<int64_t>{s, s}));
    }
  } else if (o.crop == Crop::kRandom && training) {
    // Sample i keeps rows dy[i] .. dy[i] + s - 1 and columns dx[i] .. dx[i] + s - 1.
    const auto dy = torch::randint(h - s + 1, {n}, gen, torch::kLong);
    const auto dx = torch::randint(w - s + 1, {n}, gen, torch::kLong);
    auto out = torch::empty({n, x.size(1), s, s}, x.options());
    using torch::indexing::Slice;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t y0 = dy[i].item<int64_t>(), x0 = dx[i].item<int64_t>();
      out[i] = x[i].index({Slice(), Slice(y0, y0 + s), Slice(x0, x0 + s)});
    }
    x = out;
  } else {
    x = x.narrow(2, (h - s) / 2, s).narrow(3, (w - s) / 2, s);
  }
  if (o.flips && training) {
    const auto fh = (torch::rand({n}, gen) < 0.5).to(device).view({n, 1, 1, 1});
    const auto fv = (torch::rand({n}, gen) < 0.5).to(device).view({n, 1, 1, 1});
    x = torch::where(fh, x.flip({3}), x);
    x = torch::where(fv, x.flip({2}), x);
  }
  data::Prepared p;
  p.images = x.contiguous();
  p.lat = b.lat.to(device);
  p.lon = b.lon.to(device);
  if (o.coord_jitter_deg > 0 && training) {
    const auto opts = torch::TensorOptions().dtype(torch::kDouble);
    p.lat = p.lat + (torch::rand({n}, gen, opts) * o.coord_jitter_deg).to(device);
    p.lon = p.lon + (torch::rand({n}, gen, opts) * o.coord_jitter_deg).to(device);
  }
  return p;
}

// Three 12-band 74 px tiles holding every uint16 value (0 .. 65535 and more), lat/lon in range.
inline data::Batch every_value_batch() {
  data::Batch b;
  const auto values = torch::arange(3 * 12 * 74 * 74, torch::kLong).remainder(65536).to(torch::kInt32);
  // Shuffled, so that neighbouring pixels differ as in imagery and flips and crops move something.
  const auto order = torch::randperm(values.numel(), at::make_generator<at::CPUGeneratorImpl>(3), torch::kLong);
  b.images = values.index_select(0, order).view({3, 12, 74, 74}).to(torch::kUInt16);
  b.lat = torch::tensor({-60.5, 0.25, 71.0}, torch::kDouble);
  b.lon = torch::tensor({-179.5, 12.0, 140.75}, torch::kDouble);
  b.index = torch::tensor({4, 0, 9}, torch::kLong);
  return b;
}

// prepare_batch equals the definition exactly for every combination of scaling, layout, crop,
// output size (smaller, equal, larger than the tile), flips, training and memory format, keeps
// the memory format it is asked for, and leaves the caller's batch as it was.
inline void expect_transforms_match_definition(const torch::Device& device) {
  const auto b = every_value_batch();
  const auto before = b.images.clone();
  int64_t cases = 0;
  for (const auto& scaling : OptionNames<Scaling>::table) {  // every value of each option
    for (const auto& layout : OptionNames<BandLayout>::table) {
      for (const auto& crop : OptionNames<Crop>::table) {
        for (int64_t size : {64, 74, 80}) {
          for (int flags = 0; flags < 8; ++flags) {
            data::TransformOptions o;
            o.scaling = scaling.value;
            o.band_layout = layout.value;
            o.crop = crop.value;
            o.image_size = size;
            o.flips = flags & 1;
            o.channels_last = flags & 4;
            o.coord_jitter_deg = 0.5;
            const bool training = flags & 2;
            const std::string what = std::string(scaling.name) + " " + std::string(layout.name) + " " +
                                     std::string(crop.name) + " " + std::to_string(size) +
                                     " flips " + std::to_string(o.flips) + " training " + std::to_string(training) +
                                     " channels_last " + std::to_string(o.channels_last);
            const auto got = data::prepare_batch(b, o, device, 11 + uint64_t(flags), training);
            const auto want = reference_prepare(b, o, device, 11 + uint64_t(flags), training);
            ASSERT_EQ(got.images.sizes(), want.images.sizes()) << what;
            ASSERT_EQ(got.images.device(), want.images.device()) << what;
            EXPECT_TRUE(torch::equal(got.images, want.images)) << what;
            EXPECT_TRUE(got.images.is_contiguous(o.channels_last ? torch::MemoryFormat::ChannelsLast
                                                                 : torch::MemoryFormat::Contiguous)) << what;
            EXPECT_TRUE(torch::equal(got.lat, want.lat) && torch::equal(got.lon, want.lon)) << what;
            ASSERT_TRUE(torch::equal(b.images, before)) << what << ": the caller's batch changed";
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 432);
}

}  // namespace satclip::testing
