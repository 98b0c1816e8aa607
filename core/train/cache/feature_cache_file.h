// The feature cache's contents and files (see feature_cache.h for the layout).
// Readers treat the files as outside bytes: every shape and size is checked before use, and
// errors name the file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace satclip::core {

// What the features depend on, as (key, value) lines compared one by one.
using CacheKey = std::vector<std::pair<std::string, std::string>>;

struct FeatureCache {
  torch::Tensor index;  // int64 [M] ascending global tile indices
  torch::Tensor eval;   // float32 [M, F]
  torch::Tensor views;  // float32 [M, K, F], or undefined (deterministic transforms)
  std::vector<int64_t> row;  // global tile index -> row in the tensors, -1 when absent

  int64_t dim() const { return eval.size(1); }
  // float32 [B, F] rows for `indices`: the eval features, or when training with views, view
  // (hash(view_seed, index) mod K) of each tile.
  torch::Tensor gather(const std::vector<int64_t>& indices, bool training, uint64_t view_seed) const;
};

constexpr const char* kCacheFormat = "satclip-feature-cache";
constexpr int kCacheVersion = 1;

struct CacheInfo {
  CacheKey key;
  int64_t tiles = 0, views = 0, dim = 0;
  uint64_t bytes = 0, hash = 0;  // of features.h5
};

// Writes `cache` as `dir` atomically: into a sibling temporary directory (features.h5, then
// cache.yaml), then renamed over `dir` (a previous cache there is removed first). On failure the
// temporary directory is removed and satclip::Error names the folder and the cause.
void write_feature_cache(const std::string& dir, const CacheKey& key, const FeatureCache& cache);

// cache.yaml of `dir`; throws satclip::Error naming the file when it is missing or malformed.
CacheInfo read_cache_info(const std::string& dir);

// /index of dir/features.h5 (int64 [M]), checked against `info`.
torch::Tensor read_cache_index(const std::string& dir, const CacheInfo& info);

// The whole cache, every shape checked against `info`; `dataset_size` bounds the tile indices.
FeatureCache read_feature_cache(const std::string& dir, const CacheInfo& info, int64_t dataset_size);

}  // namespace satclip::core
