// Loader (one process) and transforms: batch contents equal direct reads, order is kept, errors
// surface; transforms are deterministic and do what the recipe says.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/base/error.h"
#include "datasets/loader.h"
#include "datasets/synth.h"
#include "datasets/transforms.h"
#include "support/data_test_util.h"
#include "support/transform_check.h"

using namespace satclip::data;
using satclip::testing::TempDir;

namespace {

std::shared_ptr<ShardedDataset> small_dataset(const TempDir& dir, int64_t count = 37, int size = 16) {
  write_synthetic_shards(dir.str(), {count, size, 5, 1}, 3);
  return ShardedDataset::open(dir.str());
}

}  // namespace

TEST(Loader, BatchesHoldTheRequestedTilesInOrder) {
  TempDir dir("loader");
  auto ds = small_dataset(dir);
  std::vector<int64_t> order;
  for (int64_t i = ds->size() - 1; i >= 0; i -= 2) order.push_back(i);
  for (int workers : {1, 3}) {
    Loader loader(ds, order, {/*batch_size=*/4, workers, /*prefetch=*/2, false});
    Batch b;
    int64_t seen = 0;
    std::vector<uint16_t> expect(ds->tile_pixels());
    std::vector<uint8_t> scratch;
    while (loader.next(b)) {
      ASSERT_EQ(b.images.scalar_type(), torch::kUInt16);
      for (int64_t j = 0; j < b.images.size(0); ++j, ++seen) {
        const int64_t i = order[seen];
        EXPECT_EQ(b.index[j].item<int64_t>(), i);
        EXPECT_DOUBLE_EQ(b.lat[j].item<double>(), ds->lat(i));
        ds->read_tile(i, expect.data(), scratch);
        EXPECT_EQ(0, std::memcmp(b.images[j].data_ptr(), expect.data(), expect.size() * 2));
      }
    }
    EXPECT_EQ(seen, int64_t(order.size()));
    EXPECT_EQ(loader.batches(), (int64_t(order.size()) + 3) / 4);
  }
}

// Lists given by append() follow the first one in order; a batch never spans two lists (each
// list's last batch may be smaller), and a list appended after the others ran out is read too.
TEST(Loader, AppendedListsFollowInOrderAndNoBatchSpansTwo) {
  TempDir dir("append");
  auto ds = small_dataset(dir);
  const std::vector<std::vector<int64_t>> lists = {{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}, {30, 20, 10, 0, 36}, {7, 8, 9}};
  for (int workers : {1, 3}) {
    Loader loader(ds, lists[0], {/*batch_size=*/4, workers, /*prefetch=*/2, false});
    loader.append(lists[1]);
    std::vector<int64_t> sizes, seen;
    std::vector<uint16_t> expect(ds->tile_pixels());
    std::vector<uint8_t> scratch;
    Batch b;
    auto take_all = [&] {
      while (loader.next(b)) {
        sizes.push_back(b.images.size(0));
        for (int64_t j = 0; j < b.images.size(0); ++j) {
          const int64_t i = b.index[j].item<int64_t>();
          seen.push_back(i);
          ds->read_tile(i, expect.data(), scratch);
          EXPECT_EQ(0, std::memcmp(b.images[j].data_ptr(), expect.data(), expect.size() * 2)) << "tile " << i;
        }
      }
    };
    take_all();
    loader.append(lists[2]);  // after the others ran out
    take_all();
    EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2, 4, 1, 3})) << workers << " workers";
    std::vector<int64_t> all;
    for (const auto& l : lists) all.insert(all.end(), l.begin(), l.end());
    EXPECT_EQ(seen, all) << workers << " workers";
    EXPECT_EQ(loader.batches(), 6);
    EXPECT_THROW(loader.append({ds->size()}), satclip::Error);
  }
}

// The point of append(): the next list's batches are read while the current list's are still
// waiting to be taken, so a new epoch starts without waiting for its first batch.
TEST(Loader, ReadsTheAppendedListBeforeTheCurrentOneIsTaken) {
  TempDir dir("ahead");
  auto ds = small_dataset(dir);
  Loader loader(ds, {0, 1, 2, 3}, {4, /*workers=*/2, /*prefetch=*/3, false});
  loader.append({4, 5, 6, 7, 8});  // batches of 4 and 1
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (loader.ready_ahead() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(loader.ready_ahead(), 3) << "the second list's batches were not read ahead";
  Batch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(loader.ready_ahead(), 2);
  ASSERT_TRUE(loader.next(b));
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.index[0].item<int64_t>(), 8);
  EXPECT_EQ(loader.ready_ahead(), 0);
  EXPECT_FALSE(loader.next(b));
}

// Image buffers are pooled: with one worker and one batch ahead, a buffer is in the ring or being
// built while the consumer holds the one before, so two buffers serve any number of equal batches;
// a smaller last batch takes one more. The loader's stats count them (and reset when taken).
TEST(Loader, TwoBuffersServeOneWorkerForAnyNumberOfBatches) {
  TempDir dir("pool");
  auto ds = small_dataset(dir, 36);
  std::vector<int64_t> all(ds->size());
  std::iota(all.begin(), all.end(), 0);
  Loader loader(ds, all, {4, /*workers=*/1, /*prefetch=*/1, false});
  loader.append(all);
  loader.append({0, 1, 2, 3, 4});  // batches of 4 and 1
  Batch b;
  while (loader.next(b)) {
  }
  const auto st = loader.take_stats();
  EXPECT_EQ(st.built, 20);
  EXPECT_EQ(st.tiles, 77);
  EXPECT_EQ(st.new_buffers, 3);
  EXPECT_GE(st.build_s, st.new_buffer_s);
  EXPECT_NE(st.summary().find(", 3 new buffers ("), std::string::npos) << st.summary();
  EXPECT_EQ(loader.take_stats().built, 0);
}

TEST(Loader, StoppingEarlyDoesNotHang) {
  TempDir dir("early");
  auto ds = small_dataset(dir);
  std::vector<int64_t> all(ds->size());
  std::iota(all.begin(), all.end(), 0);
  Loader loader(ds, all, {2, 2, 2, false});
  Batch b;
  ASSERT_TRUE(loader.next(b));
}  // destructor joins workers blocked on a full ring

TEST(Loader, RejectsIndicesOutsideTheDataset) {
  TempDir dir("range");
  auto ds = small_dataset(dir);
  EXPECT_THROW(Loader(ds, {0, ds->size()}, {2, 1, 1, false}), satclip::Error);
}

TEST(Transforms, BandLayoutsScalingAndResize) {
  TempDir dir("tf");
  auto ds = small_dataset(dir, 4, 16);
  Loader loader(ds, {0, 1, 2, 3}, {4, 1, 1, false});
  Batch b;
  ASSERT_TRUE(loader.next(b));
  const auto raw = b.images.to(torch::kFloat);
  TransformOptions o;
  o.image_size = 16;
  const auto p = prepare_batch(b, o, torch::kCPU, 1, false);
  ASSERT_EQ(p.images.sizes(), (std::vector<int64_t>{4, 13, 16, 16}));
  EXPECT_TRUE(torch::allclose(p.images.narrow(1, 0, 10), raw.narrow(1, 0, 10) / 10000.0));
  EXPECT_EQ(p.images.select(1, 10).abs().max().item<float>(), 0.0f);  // B10 inserted as zeros
  EXPECT_TRUE(torch::allclose(p.images.narrow(1, 11, 2), raw.narrow(1, 10, 2) / 10000.0));

  o.band_layout = satclip::BandLayout::kSeed;
  o.scaling = satclip::Scaling::kNormalize;
  const auto s = prepare_batch(b, o, torch::kCPU, 1, false);
  EXPECT_TRUE(torch::allclose(s.images.select(1, 12), (raw.select(1, 0) - 0.5) / 0.5));
  o.image_size = 24;
  EXPECT_EQ(prepare_batch(b, o, torch::kCPU, 1, false).images.size(3), 24);
  o.band_layout = satclip::BandLayout::kNone;
  EXPECT_EQ(prepare_batch(b, o, torch::kCPU, 1, false).images.size(1), 12);
}

TEST(Transforms, MatchTheDefinitionBitForBit) {
  satclip::testing::expect_transforms_match_definition(torch::kCPU);
}

// prepare_batch scales with kConvertOnLoad on a GPU and kCopyThenScale on the CPU; both run here,
// for every scaling, layout and memory format, against the definition (a center crop at the
// tile's size: scaling and layout alone), written into a fitting tensor or a new one.
TEST(Transforms, BothScaleMethodsGiveTheDefinitionsBits) {
  const auto b = satclip::testing::every_value_batch();
  int cases = 0;
  for (const auto& scaling : satclip::OptionNames<satclip::Scaling>::table) {
    for (const auto& layout : satclip::OptionNames<satclip::BandLayout>::table) {
      TransformOptions o;
      o.scaling = scaling.value;
      o.band_layout = layout.value;
      o.crop = satclip::Crop::kCenter;
      o.image_size = b.images.size(3);
      const auto want = satclip::testing::reference_prepare(b, o, torch::kCPU, 0, false).images;
      for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
        for (const auto method : {ScaleMethod::kCopyThenScale, ScaleMethod::kConvertOnLoad}) {
          const bool nhwc = format == torch::MemoryFormat::ChannelsLast;
          const std::string what = std::string(scaling.name) + " " + std::string(layout.name) + " method " +
                                   std::to_string(int(method)) + (nhwc ? " channels-last" : "");
          const auto got = scale_bands(b.images, o, format, method);
          EXPECT_TRUE(torch::equal(got, want)) << what;
          EXPECT_TRUE(got.is_contiguous(format)) << what;
          auto into = torch::full_like(want, 7.0f).contiguous(format);
          EXPECT_TRUE(scale_bands(b.images, o, format, method, into).is_same(into)) << what;
          EXPECT_TRUE(torch::equal(into, want)) << what;
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 2 * 3 * 2 * 2);
  EXPECT_EQ(scale_method_for(torch::kCPU), ScaleMethod::kCopyThenScale);
  EXPECT_EQ(scale_method_for(torch::Device(torch::kCUDA)), ScaleMethod::kConvertOnLoad);
}

TEST(Transforms, WriteIntoTheCallersTensorOnlyWhenItFits) {
  const auto b = satclip::testing::every_value_batch();
  TransformOptions o;
  o.scaling = satclip::Scaling::kNormalize;
  o.band_layout = satclip::BandLayout::kSeed;
  o.image_size = 64;
  o.channels_last = true;
  o.flips = true;
  // Crops and flips on uint16; or resampled floats.
  for (const auto crop : {satclip::Crop::kRandom, satclip::Crop::kResize}) {
    o.crop = crop;
    const auto want = prepare_batch(b, o, torch::kCPU, 5, true).images;
    auto into = torch::full({3, 13, 64, 64}, 7.0f).contiguous(torch::MemoryFormat::ChannelsLast);
    const auto got = prepare_batch(b, o, torch::kCPU, 5, true, into);
    EXPECT_TRUE(got.images.is_same(into)) << satclip::option_name(crop);
    EXPECT_TRUE(torch::equal(into, want)) << satclip::option_name(crop);
    for (auto other : {torch::full({3, 13, 64, 64}, 7.0f),                       // not channels-last
                       torch::full({2, 13, 64, 64}, 7.0f).contiguous(torch::MemoryFormat::ChannelsLast),  // size
                       torch::full({3, 13, 64, 64}, 7.0, torch::kDouble).contiguous(torch::MemoryFormat::ChannelsLast)}) {
      const auto left = prepare_batch(b, o, torch::kCPU, 5, true, other);
      EXPECT_FALSE(left.images.is_same(other)) << satclip::option_name(crop);
      EXPECT_TRUE(torch::equal(left.images, want)) << satclip::option_name(crop);
      EXPECT_TRUE(torch::equal(other, torch::full_like(other, 7.0)))
          << satclip::option_name(crop) << ": a tensor that does not fit changed";
    }
  }
}

TEST(Transforms, RandomChoicesDependOnlyOnTheSeed) {
  TempDir dir("tfseed");
  auto ds = small_dataset(dir, 8, 16);
  Loader loader(ds, {0, 1, 2, 3, 4, 5, 6, 7}, {8, 1, 1, false});
  Batch b;
  ASSERT_TRUE(loader.next(b));
  TransformOptions o;
  o.image_size = 12;
  o.crop = satclip::Crop::kRandom;
  o.flips = true;
  o.coord_jitter_deg = 0.01;
  const auto a1 = prepare_batch(b, o, torch::kCPU, 42, true);
  const auto a2 = prepare_batch(b, o, torch::kCPU, 42, true);
  const auto c = prepare_batch(b, o, torch::kCPU, 43, true);
  EXPECT_TRUE(torch::equal(a1.images, a2.images));
  EXPECT_TRUE(torch::equal(a1.lat, a2.lat));
  EXPECT_FALSE(torch::equal(a1.images, c.images));
  const auto jitter = a1.lat - b.lat;
  EXPECT_GE(jitter.min().item<double>(), 0.0);
  EXPECT_LT(jitter.max().item<double>(), 0.01);
  // Without training there is no randomness: center crop, no flips, no jitter.
  const auto e = prepare_batch(b, o, torch::kCPU, 42, false);
  EXPECT_TRUE(torch::equal(e.lat, b.lat));
  EXPECT_TRUE(torch::equal(e.images, prepare_batch(b, o, torch::kCPU, 7, false).images));
}
