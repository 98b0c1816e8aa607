// DistributedSampler: which dataset indices each rank visits in an epoch.
//
// The epoch's global order is a permutation seeded by (seed, epoch). A run that has consumed the
// first `cursor` positions of that order (summed over all ranks) resumes from position `cursor`,
// whatever the world size then: the remaining positions are dealt round-robin, position
// cursor + k going to rank k % world. With drop_last the remainder is truncated to a multiple of
// the world size; otherwise it is padded by wrapping around to the start of the order, so every
// rank gets the same number of samples.
#pragma once

#include <cstdint>
#include <vector>

namespace satclip::data {

struct SamplerOptions {
  uint64_t seed = 0;
  bool drop_last = true;
};

class DistributedSampler {
 public:
  DistributedSampler(int64_t dataset_size, int rank, int world_size, SamplerOptions options = {});

  // The epoch's global visiting order (a permutation of 0 .. dataset_size-1).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  // This rank's indices for `epoch`, starting at global position `cursor`.
  std::vector<int64_t> indices(int64_t epoch, int64_t cursor = 0) const;

  // How many samples each rank gets from `cursor` to the end of the epoch.
  int64_t samples_per_rank(int64_t cursor = 0) const;

  int64_t dataset_size() const { return size_; }

 private:
  int64_t size_;
  int rank_;
  int world_;
  SamplerOptions options_;
};

}  // namespace satclip::data
