#include "datasets/sampler.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "core/base/error.h"
#include "core/base/hash.h"

namespace satclip::data {

DistributedSampler::DistributedSampler(int64_t dataset_size, int rank, int world_size,
                                       SamplerOptions options)
    : size_(dataset_size), rank_(rank), world_(world_size), options_(options) {
  SATCLIP_CHECK(world_size >= 1 && rank >= 0 && rank < world_size,
                cat("sampler: rank ", rank, " is not in a world of ", world_size), "");
  SATCLIP_CHECK(dataset_size >= 0, "sampler: negative dataset size", "");
}

std::vector<int64_t> DistributedSampler::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(size_);
  std::iota(order.begin(), order.end(), int64_t{0});
  // std::mt19937_64 is fully specified by the standard, so the order is the same everywhere.
  std::mt19937_64 rng(seeded_key(options_.seed, static_cast<uint64_t>(epoch)));
  for (int64_t i = size_ - 1; i > 0; --i) {  // Fisher-Yates with an exactly specified draw
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

int64_t DistributedSampler::samples_per_rank(int64_t cursor) const {
  const int64_t remaining = std::max<int64_t>(size_ - cursor, 0);
  return options_.drop_last ? remaining / world_ : (remaining + world_ - 1) / world_;
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch, int64_t cursor) const {
  SATCLIP_CHECK(cursor >= 0 && cursor <= size_,
                cat("sampler: cursor ", cursor, " is outside the epoch of ", size_, " samples"),
                "resume from a checkpoint written for this dataset");
  const auto order = epoch_order(epoch);
  const int64_t per_rank = samples_per_rank(cursor);
  std::vector<int64_t> out;
  out.reserve(per_rank);
  for (int64_t k = 0; k < per_rank; ++k) {
    const int64_t pos = cursor + k * world_ + rank_;
    out.push_back(order[pos % size_]);  // wraps only when padding
  }
  return out;
}

}  // namespace satclip::data
