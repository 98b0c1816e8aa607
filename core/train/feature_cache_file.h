// The feature cache's files (see feature_cache.h for the layout). Internal to core/train.
// Readers treat the files as outside bytes: every shape and size is checked before use, and
// errors name the file.
#pragma once

#include <cstdint>
#include <string>

#include "core/train/feature_cache.h"

namespace satclip::core {

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
