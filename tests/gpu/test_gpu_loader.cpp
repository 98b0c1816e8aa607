// The loader's pinned buffers and asynchronous copies to the GPU (label gpu; skipped without a
// CUDA device): a pooled buffer is filled again only after the copy out of it has finished, so no
// batch on the device is torn, even when every copy starts late; the tile encoding's copies ahead.
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#ifdef SATCLIP_HAVE_CUDA
#include <ATen/cuda/Sleep.h>
#endif

#include "core/infer/tile_encoding.h"
#include "datasets/loader.h"
#include "datasets/synth.h"
#include "datasets/transforms.h"
#include "model/model_test_util.h"
#include "support/data_test_util.h"
#include "support/grad_tolerance.h"
#include "support/resize_check.h"
#include "support/transform_check.h"

using namespace satclip::data;

TEST(GpuLoader, DelayedCopiesNeverSeeTheNextBatch) {
#ifndef SATCLIP_HAVE_CUDA
  GTEST_SKIP() << "built without CUDA";
#else
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  satclip::testing::TempDir dir("gpu-loader");
  write_synthetic_shards(dir.str(), {/*count=*/192, /*size=*/32, /*seed=*/5, /*threads=*/1}, 2);
  const auto ds = ShardedDataset::open(dir.str());
  std::vector<int64_t> order(size_t(ds->size()));
  std::iota(order.begin(), order.end(), 0);
  // Few buffers, two workers: each buffer is handed back and refilled within a few batches.
  Loader loader(ds, order, {/*batch_size=*/8, /*workers=*/2, /*prefetch=*/2, /*pin_memory=*/true});
  TransformOptions o;
  o.band_layout = satclip::BandLayout::kNone;
  o.crop = satclip::Crop::kCenter;
  o.image_size = 32;
  const torch::Device cuda(torch::kCUDA);
  std::vector<torch::Tensor> on_gpu;
  Batch b;
  while (loader.next(b)) {
    ASSERT_TRUE(b.images.is_pinned());
    // A kernel of some milliseconds ahead of the copy on the same stream: the copy runs well after
    // this loop has dropped the batch and the workers could have refilled its buffer.
    at::cuda::sleep(int64_t(20'000'000));
    on_gpu.push_back(prepare_batch(b, o, cuda, /*seed=*/0, /*training=*/false).images);
    b = Batch();
  }
  torch::cuda::synchronize();
  std::vector<uint16_t> expect(size_t(ds->tile_pixels()));
  std::vector<uint8_t> scratch;
  int64_t i = 0, torn = 0;
  for (const auto& batch : on_gpu) {
    // divide10000 scaling undone: exact, the error of x / 10000 in float32 is far below 0.5.
    const auto got = (batch.cpu() * 10000.0).round().to(torch::kInt32);
    for (int64_t j = 0; j < got.size(0); ++j, ++i) {
      ds->read_tile(i, expect.data(), scratch);
      const auto want = torch::from_blob(expect.data(), got[j].sizes(), torch::kUInt16).to(torch::kInt32);
      torn += !torch::equal(got[j], want);
    }
  }
  EXPECT_EQ(i, ds->size());
  EXPECT_EQ(torn, 0) << torn << " of " << i << " tiles on the GPU differ from the file";
#endif
}

TEST(GpuLoader, TransformsMatchTheDefinitionOnTheGpu) {
#ifndef SATCLIP_HAVE_CUDA
  GTEST_SKIP() << "built without CUDA";
#else
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  satclip::testing::expect_transforms_match_definition(torch::Device(torch::kCUDA));
#endif
}

TEST(GpuLoader, ResizeMatchesTorchvisionOnTheGpu) {
#ifndef SATCLIP_HAVE_CUDA
  GTEST_SKIP() << "built without CUDA";
#else
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const bool channels_last : {false, true}) {
    satclip::testing::expect_resize_matches_torchvision(SATCLIP_RESIZE_DIR, torch::Device(torch::kCUDA), channels_last);
  }
#endif
}

TEST(GpuLoader, TileEncodingOnTheGpuMatchesTheCpu) {
  // The feature cache's pass (encode_tiles) on CUDA copies each chunk to the device on a copy
  // stream while the chunk before it is encoded. Its features, for the validation transform and
  // for two augmented views, are the CPU pass's tile for tile: no chunk is encoded from another's
  // pixels, lost or repeated.
#ifndef SATCLIP_HAVE_CUDA
  GTEST_SKIP() << "built without CUDA";
#else
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  satclip::testing::TempDir dir("gpu-encode");
  write_synthetic_shards(dir.str(), {/*count=*/200, /*size=*/32, /*seed=*/7, /*threads=*/1}, 2);
  satclip::core::TileEncoding req;
  req.dataset = ShardedDataset::open(dir.str());
  req.indices.resize(size_t(req.dataset->size()));
  std::iota(req.indices.begin(), req.indices.end(), 0);
  req.views = 2;
  req.chunk = 16;
  req.seed = 3;
  req.transforms.band_layout = satclip::BandLayout::kSeed;
  req.transforms.image_size = 32;
  req.transforms.flips = true;
  req.loader = {/*batch_size=*/16, /*workers=*/2, /*prefetch=*/2, /*pin_memory=*/true};
  auto encode = [&](const torch::Device& device) {
    satclip::core::SatClip model(satclip::testing::small_trainable_model(), satclip::core::LossConfig{});
    satclip::testing::fill_reference_weights(*model);
    model->to(device);
    model->eval();
    req.device = device;
    return satclip::core::encode_tiles(model, req, /*rank=*/0, /*world=*/1);
  };
  const auto cpu = encode(torch::kCPU), gpu = encode(torch::kCUDA);
  ASSERT_TRUE(torch::equal(gpu.index, cpu.index));
  ASSERT_EQ(gpu.eval.sizes(), cpu.eval.sizes());
  ASSERT_EQ(gpu.views.sizes(), cpu.views.sizes());
  EXPECT_FALSE(gpu.eval.is_cuda());
  // Per tile, as model/CudaMatchesCpu bounds embeddings: a tile encoded from another tile's pixels
  // differs by far more.
  for (int64_t i = 0; i < cpu.eval.size(0); ++i) {
    EXPECT_LE(satclip::testing::relative_error(gpu.eval[i], cpu.eval[i]), 1e-4) << "tile " << i;
    for (int64_t v = 0; v < 2; ++v) {
      EXPECT_LE(satclip::testing::relative_error(gpu.views[i][v], cpu.views[i][v]), 1e-4) << "tile " << i << " view " << v;
    }
  }
  EXPECT_GT(satclip::testing::relative_error(cpu.eval[1], cpu.eval[0]), 1e-2) << "tiles must differ for this to test anything";
#endif
}
