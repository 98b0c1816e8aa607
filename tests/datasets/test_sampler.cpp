// DistributedSampler: exact epoch coverage, determinism, and resumption at another world size.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "datasets/sampler.h"

using satclip::data::DistributedSampler;
using satclip::data::SamplerOptions;

namespace {

std::vector<int64_t> union_of(int64_t n, int world, int64_t epoch, int64_t cursor, SamplerOptions o) {
  std::vector<int64_t> all;
  for (int r = 0; r < world; ++r) {
    const auto part = DistributedSampler(n, r, world, o).indices(epoch, cursor);
    all.insert(all.end(), part.begin(), part.end());
  }
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace

TEST(Sampler, EachEpochCoveredExactlyOnceWhenDivisible) {
  for (int world : {1, 2, 3}) {
    const auto all = union_of(60, world, 0, 0, {});
    ASSERT_EQ(all.size(), 60u);
    for (int64_t i = 0; i < 60; ++i) EXPECT_EQ(all[i], i);
  }
}

TEST(Sampler, DropLastAndPadGiveEqualShares) {
  SamplerOptions drop{3, true}, pad{3, false};
  EXPECT_EQ(DistributedSampler(10, 0, 3, drop).indices(0).size(), 3u);
  EXPECT_EQ(DistributedSampler(10, 2, 3, drop).indices(0).size(), 3u);
  EXPECT_EQ(DistributedSampler(10, 2, 3, pad).indices(0).size(), 4u);
  const auto padded = union_of(10, 3, 0, 0, pad);
  EXPECT_EQ(std::set<int64_t>(padded.begin(), padded.end()).size(), 10u);  // every sample seen
}

TEST(Sampler, OrderDependsOnSeedAndEpochOnly) {
  DistributedSampler a(100, 0, 1, {5, true}), b(100, 0, 1, {5, true}), c(100, 0, 1, {6, true});
  EXPECT_EQ(a.epoch_order(3), b.epoch_order(3));
  EXPECT_NE(a.epoch_order(3), a.epoch_order(4));
  EXPECT_NE(a.epoch_order(3), c.epoch_order(3));
}

TEST(Sampler, ResumeMidEpochAtAnotherWorldSizeNeitherRepeatsNorSkips) {
  const int64_t n = 120;
  SamplerOptions o{11, true};
  // Two ranks consume 3 steps of 6 samples each (36 global positions), then 3 ranks resume.
  std::vector<int64_t> seen;
  for (int r = 0; r < 2; ++r) {
    const auto part = DistributedSampler(n, r, 2, o).indices(1);
    seen.insert(seen.end(), part.begin(), part.begin() + 18);
  }
  for (int r = 0; r < 3; ++r) {
    const auto part = DistributedSampler(n, r, 3, o).indices(1, 36);
    seen.insert(seen.end(), part.begin(), part.end());
  }
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], i);
}

TEST(Sampler, RejectsBadArguments) {
  EXPECT_ANY_THROW(DistributedSampler(10, 3, 3));
  EXPECT_ANY_THROW(DistributedSampler(10, 0, 1).indices(0, 11));
}
