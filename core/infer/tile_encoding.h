// Tile encoding: the frozen image encoder run over packed tiles (the feature cache's build,
// satclip-embed --shards, satclip-eval's image retrieval), shared out among ranks by chunks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "core/model/satclip.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "datasets/transforms.h"

namespace satclip::core {

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
  // Called at the start of each round of chunks with the tiles of the rounds before it (every
  // rank's) and the pass's total: the build's progress lines.
  std::function<void(int64_t tiles_done, int64_t tiles)> on_round;
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

}  // namespace satclip::core
