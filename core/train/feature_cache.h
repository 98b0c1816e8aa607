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

#include "core/model/satclip.h"
#include "core/recipe/recipe.h"
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

// The encoding pass over tiles (the cache's build, and satclip-embed --shards).
struct TileEncoding {
  std::vector<int64_t> indices;  // ascending global tile indices
  int64_t views = 0;             // augmented views per tile, 0 when the transforms are deterministic
  int64_t chunk = 64;            // tiles per encoder batch, the same for every world size
  uint64_t seed = 0;             // the views' randomness
  std::shared_ptr<const data::ShardedDataset> dataset;
  data::TransformOptions transforms;
  data::LoaderOptions loader;    // its batch_size is replaced by `chunk`
  torch::Device device{torch::kCPU};
  bool bf16 = false;             // encode under bf16 autocast (CUDA); features are returned as float32
  bool stop_on_signal = false;   // open_feature_cache: a stop signal on any rank ends the build
};

// This rank's share of the pass (chunks rank, rank + world, ...; all of them at world 1), in eval
// mode without grad: index int64 [m], eval float32 [m, F] (the validation transform), views
// float32 [m, K, F] (undefined when K = 0). On the CPU. `stop`, when given, is asked before each
// round of chunks (round b: chunk rank + b * world), the same number of times on every rank, so a
// collective may answer it; once it returns true the pass ends with `stopped` set and the chunks
// encoded so far.
struct EncodedTiles {
  torch::Tensor index, eval, views;
  bool stopped = false;
};
EncodedTiles encode_tiles(SatClip& model, const TileEncoding& encoding, int rank, int world,
                          const std::function<bool()>& stop = {});

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
