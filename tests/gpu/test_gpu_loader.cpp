// The loader's pinned buffers and asynchronous copies to the GPU (label gpu; skipped without a
// CUDA device): a pooled buffer is filled again only after the copy out of it has finished, so no
// batch on the device is torn, even when every copy starts late.
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#ifdef SATCLIP_HAVE_CUDA
#include <ATen/cuda/Sleep.h>
#endif

#include "datasets/loader.h"
#include "datasets/synth.h"
#include "datasets/transforms.h"
#include "support/data_test_util.h"
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
