// ShardedDataset: every shard of a packed directory, validated at open, behind one global index.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/h5_shards.h"
#include "datasets/manifest.h"

namespace satclip::data {

struct Split {
  std::vector<int64_t> train, val;  // global indices, ascending
};

class ShardedDataset {
 public:
  // Reads DIR/manifest.json and opens and checks every shard it lists, so a damaged or foreign
  // file is reported now (naming the file), not in the middle of training.
  static std::shared_ptr<ShardedDataset> open(const std::string& dir);

  int64_t size() const { return offsets_.back(); }
  const Manifest& manifest() const { return manifest_; }
  int64_t tile_pixels() const { return int64_t(manifest_.channels) * manifest_.height * manifest_.width; }
  double lat(int64_t i) const;
  double lon(int64_t i) const;
  const std::string& fn(int64_t i) const;

  // Reads tile `i` into `dst` (tile_pixels() values). Thread-safe.
  void read_tile(int64_t i, uint16_t* dst, std::vector<uint8_t>& scratch) const;

  // Deterministic train/validation split: a seeded permutation, the first
  // round(size * val_fraction) indices go to validation.
  Split split(double val_fraction, uint64_t seed) const;

 private:
  std::pair<const ShardReader*, int64_t> locate(int64_t i) const;
  Manifest manifest_;
  std::vector<std::unique_ptr<ShardReader>> shards_;
  std::vector<int64_t> offsets_{0};  // offsets_[k] = first global index of shard k
};

}  // namespace satclip::data
