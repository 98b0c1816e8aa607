#include "datasets/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include "core/base/error.h"

namespace satclip::data {

std::shared_ptr<ShardedDataset> ShardedDataset::open(const std::string& dir) {
  namespace fs = std::filesystem;
  SATCLIP_CHECK(fs::is_directory(dir), cat(dir, ": no such shard directory"),
                "set data.path to a folder written by satclip-pack (or to 'synthetic')");
  auto ds = std::shared_ptr<ShardedDataset>(new ShardedDataset());
  ds->manifest_ = read_manifest((fs::path(dir) / "manifest.json").string());
  for (const auto& entry : ds->manifest_.shards) {
    ds->shards_.push_back(
        std::make_unique<ShardReader>((fs::path(dir) / entry.file).string(), ds->manifest_, entry.count));
    ds->offsets_.push_back(ds->offsets_.back() + entry.count);
  }
  return ds;
}

std::pair<const ShardReader*, int64_t> ShardedDataset::locate(int64_t i) const {
  SATCLIP_CHECK(i >= 0 && i < size(), cat("tile index ", i, " outside the dataset of ", size()), "");
  const auto it = std::upper_bound(offsets_.begin(), offsets_.end(), i);
  const size_t k = static_cast<size_t>(it - offsets_.begin()) - 1;
  return {shards_[k].get(), i - offsets_[k]};
}

double ShardedDataset::lat(int64_t i) const {
  const auto [s, j] = locate(i);
  return s->lat()[j];
}

double ShardedDataset::lon(int64_t i) const {
  const auto [s, j] = locate(i);
  return s->lon()[j];
}

const std::string& ShardedDataset::fn(int64_t i) const {
  const auto [s, j] = locate(i);
  return s->fn()[j];
}

void ShardedDataset::read_tile(int64_t i, uint16_t* dst, std::vector<uint8_t>& scratch) const {
  const auto [s, j] = locate(i);
  s->read_tile(j, dst, scratch);
}

Split ShardedDataset::split(double val_fraction, uint64_t seed) const {
  SATCLIP_CHECK(val_fraction >= 0 && val_fraction < 1, cat("val_fraction ", val_fraction, " outside [0, 1)"), "");
  std::vector<int64_t> order(size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  for (int64_t i = size() - 1; i > 0; --i) std::swap(order[i], order[rng() % uint64_t(i + 1)]);
  const auto n_val = static_cast<int64_t>(std::llround(size() * val_fraction));
  Split s;
  s.val.assign(order.begin(), order.begin() + n_val);
  s.train.assign(order.begin() + n_val, order.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

}  // namespace satclip::data
