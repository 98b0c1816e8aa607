// Train/test splits of N points for the probes (satclip-eval), each a pure function of its inputs.
//
//   random   one split per seed: the points ordered by splitmix64(seed * 0x9e3779b97f4a7c15 + i),
//            the first N / 2 train (probe_split in probe.h);
//   spatial  k-fold over blocks of `block_deg` degrees, so that test points are far from training
//            points: point i is in block (floor((lat + 90) / b), floor((lon + 180) / b)); the
//            blocks that hold points are ordered by splitmix64(seed * 0x9e3779b97f4a7c15 + row *
//            n_lon + col) and dealt round-robin to the k folds (block j to fold j % k); fold f
//            tests the points of its blocks and trains on all others. Every point is tested
//            exactly once per seed; a block is never split.
// Indices are ascending within train and test of a spatial fold.
#pragma once

#include <cstdint>
#include <vector>

namespace satclip::core {

struct Fold {
  std::vector<int64_t> train, test;
};

std::vector<Fold> spatial_folds(const std::vector<double>& lat, const std::vector<double>& lon, double block_deg,
                                int64_t k, uint64_t seed);

// sklearn's KFold(k) without shuffling over positions 0..n-1: fold f tests a contiguous run; the
// first n % k folds hold one more. Used for the inner cross-validation that picks a probe's
// regularisation (positions index the training set in its given order).
std::vector<Fold> contiguous_folds(int64_t n, int64_t k);

}  // namespace satclip::core
