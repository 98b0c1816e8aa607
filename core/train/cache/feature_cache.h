// The frozen-encoder feature cache (data.feature_cache): with a frozen image encoder, every
// tile's encoder output is the same in every epoch, so it is computed once and training reads
// [N, F] features from memory instead of tiles from the shards.
//
// On disk, one cache per directory (written by rank 0, atomically: built in a sibling temporary
// directory, renamed into place, `cache.yaml` last inside it):
//   cache.yaml    what the features depend on (the key), the tile count, views, feature size, and
//                 the size and FNV-1a hash of features.h5
//   features.h5   /index int64 [M] (global tile indices, ascending), /eval float32 [M, F] (the
//                 validation transform), /views float32 [M, K, F] (K augmented training views;
//                 absent when the transforms are deterministic, where training uses /eval)
// A cache whose key, tiles or hash does not match is rebuilt, with a log line saying why.
//
// The encoding pass is split into chunks of a fixed number of tiles, independent of the world
// size (rank r encodes chunks r, r + world, ...), so np 1 and np N write identical caches.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/infer/tile_encoding.h"
#include "core/model/satclip.h"
#include "core/recipe/recipe.h"
#include "core/train/cache/feature_cache_file.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "datasets/transforms.h"
#include "distributed/communicator.h"

namespace satclip::core {

enum class FeatureCacheMode { kOff, kAuto, kPath };

// data.feature_cache parsed once: "off" (or empty), "auto" (output.dir/../feature-cache), or a
// directory. `dir` is the resolved directory (empty when off).
struct FeatureCacheSetting {
  FeatureCacheMode mode = FeatureCacheMode::kOff;
  std::string dir;
  bool on() const { return mode != FeatureCacheMode::kOff; }
};
FeatureCacheSetting feature_cache_setting(const Recipe& recipe);

// Checks the recipe's combination (throws satclip::Error naming the keys): the image encoder
// must be frozen; random crops or flips need data.feature_cache_views >= 2 (one view would drop
// the augmentation silently); views >= 2 need random crops or flips.
void check_feature_cache_recipe(const Recipe& recipe);

struct FeatureCacheRequest {
  std::string dir;
  CacheKey key;
  TileEncoding encoding;  // indices: the training + validation split
};

// The key of a recipe and model: the dataset manifest's hash, the image encoder's weights hash,
// every image-transform key, the views and the encoding precision.
CacheKey feature_cache_key(const Recipe& recipe, const std::string& shard_dir, SatClip& model, bool bf16);

// Loads the cache in req.dir when it matches, else builds it (every rank encodes its chunks,
// rank 0 writes) and loads that. Logs which, and why a cache was rebuilt. Collective. With
// encoding.stop_on_signal, a stop signal on any rank during the build ends it on every rank
// within one chunk, nothing written: each throws StoppedBeforeTraining naming the signal and the
// rank that received it.
std::shared_ptr<const FeatureCache> open_feature_cache(SatClip& model, const FeatureCacheRequest& req,
                                                       dist::Communicator& comm);

// Why the cache in `dir` cannot serve `req` ("" when it can): no cache, another key (naming the
// keys that differ), missing tiles, a damaged features.h5. Reads only cache.yaml and hashes
// features.h5.
std::string feature_cache_mismatch(const std::string& dir, const FeatureCacheRequest& req);

}  // namespace satclip::core
