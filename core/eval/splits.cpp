#include "core/eval/splits.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/base/error.h"
#include "core/base/hash.h"

namespace satclip::core {
std::vector<Fold> spatial_folds(const std::vector<double>& lat, const std::vector<double>& lon, double block_deg,
                                int64_t k, uint64_t seed) {
  SATCLIP_CHECK(lat.size() == lon.size(), "spatial_folds: lat and lon differ in length", "");
  SATCLIP_CHECK(block_deg > 0 && block_deg <= 180, cat("--block-deg ", block_deg, " is out of range"),
                "give a block size in degrees, 0 < b <= 180");
  SATCLIP_CHECK(k >= 2, cat("a spatial split needs at least 2 folds, got ", k), "");
  const auto cols = static_cast<int64_t>(std::ceil(360.0 / block_deg));
  const auto rows = static_cast<int64_t>(std::ceil(180.0 / block_deg));
  std::vector<int64_t> block(lat.size());
  std::map<int64_t, int64_t> fold_of;  // block -> fold
  for (size_t i = 0; i < lat.size(); ++i) {
    const int64_t r = std::clamp<int64_t>(int64_t(std::floor((lat[i] + 90) / block_deg)), 0, rows - 1);
    const int64_t c = std::clamp<int64_t>(int64_t(std::floor((lon[i] + 180) / block_deg)), 0, cols - 1);
    block[i] = r * cols + c;
    fold_of[block[i]] = 0;
  }
  SATCLIP_CHECK(int64_t(fold_of.size()) >= k,
                cat("the points fall into ", fold_of.size(), " blocks of ", block_deg, " degrees, fewer than the ", k, " folds"),
                "use a smaller --block-deg");
  std::vector<std::pair<uint64_t, int64_t>> order;
  for (const auto& [b, _] : fold_of) order.emplace_back(splitmix64(seeded_key(seed, uint64_t(b))), b);
  std::sort(order.begin(), order.end());
  for (size_t j = 0; j < order.size(); ++j) fold_of[order[j].second] = int64_t(j) % k;
  std::vector<Fold> folds(static_cast<size_t>(k));
  for (size_t i = 0; i < lat.size(); ++i) {
    for (int64_t f = 0; f < k; ++f) (f == fold_of[block[i]] ? folds[f].test : folds[f].train).push_back(int64_t(i));
  }
  return folds;
}

std::vector<Fold> contiguous_folds(int64_t n, int64_t k) {
  SATCLIP_CHECK(k >= 2 && n >= k, cat("cannot cut ", n, " points into ", k, " folds"), "");
  std::vector<Fold> folds(static_cast<size_t>(k));
  int64_t start = 0;
  for (int64_t f = 0; f < k; ++f) {
    const int64_t size = n / k + (f < n % k ? 1 : 0);
    for (int64_t i = 0; i < n; ++i) (i >= start && i < start + size ? folds[f].test : folds[f].train).push_back(i);
    start += size;
  }
  return folds;
}

}  // namespace satclip::core
