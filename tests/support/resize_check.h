// data.crop: resize against torchvision (tests/reference/resize_reference.py make DIR wrote the
// tiles and torchvision's Resize(antialias=True) of them), shared by the CPU test
// (tests/datasets/test_resize_reference.cpp) and the GPU test (tests/gpu/test_gpu_loader.cpp).
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/base/fs_util.h"
#include "core/model/torch_pickle.h"
#include "datasets/transforms.h"

namespace satclip::testing {

inline void expect_resize_matches_torchvision(const std::string& dir, const torch::Device& device,
                                              bool channels_last = false) {
  for (const auto& [from, to] : std::vector<std::pair<int, int>>{{256, 224}, {64, 56}, {37, 29}, {48, 64}}) {
    const std::string path = dir + "/resize_" + std::to_string(from) + "_" + std::to_string(to) + ".pt";
    torch::Tensor tiles, expected;
    for (auto& e : core::read_torch_file(RegularFile(path, "a resize reference", "run resize_reference.py make"))) {
      if (e.key == "tiles") tiles = e.tensor;
      if (e.key == "expected") expected = e.tensor;
    }
    ASSERT_TRUE(tiles.defined() && expected.defined()) << path;
    data::Batch b;
    b.images = tiles.contiguous().view(torch::kUInt16);
    b.lat = torch::zeros({tiles.size(0)}, torch::kDouble);
    b.lon = torch::zeros({tiles.size(0)}, torch::kDouble);
    data::TransformOptions o;  // divide10000, B10 zeros at 10, crop: resize
    o.image_size = to;
    o.channels_last = channels_last;
    const auto got = data::prepare_batch(b, o, device, 0, /*training=*/false).images.cpu();
    ASSERT_EQ(got.sizes(), expected.sizes()) << path;
    // The same filter weights and sums in float32: apart from summation order (up to ~2 x 256/224
    // taps per axis), equal. Values are in [0, 1): 1e-6 is ~10 ulp of 1.
    const double worst = (got - expected).abs().max().item<double>();
    EXPECT_LE(worst, 1e-6) << path << " on " << device;
    // Without antialiasing the three shrinking cases differ by 0.2 - 0.3 on these noise tiles (the
    // upsizing by 1e-7): the check can fail.
  }
}

}  // namespace satclip::testing
