// The air-temperature probe (SatCLIP's downstream example; protocol in
// ../shared/reference/data/README.md): how well a location embedding predicts a station's annual
// mean air temperature with a small MLP.
//
// Per seed: the stations are ordered by splitmix64(seed * 0x9e3779b97f4a7c15 + i) and the first
// half trains (probe_split: the same split as tests/reference/probe_reference.py); after
// torch::manual_seed(seed) an MLP D -> 256 -> 64 -> 1 (ReLU) is built (PyTorch's default Linear
// initialisation, the same draws as in Python), trained full-batch on the MSE for `epochs` epochs
// with Adam (lr 1e-3) computed as Python's torch.optim.Adam computes it (see probe.cpp); the score
// is the test MSE of y = meanT / max(meanT).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace satclip::core {

struct ProbeOptions {
  std::vector<int64_t> seeds = {0, 1, 2};
  int64_t epochs = 3000;
  double lr = 1e-3;
};

struct ProbeResult {
  std::vector<double> test_mse;  // one per seed
  double mean() const;
  double std() const;  // sample standard deviation (n - 1); 0 for one seed
};

// Train and test row indices of `n` stations for `seed` (train: the first n / 2 in hash order).
std::pair<std::vector<int64_t>, std::vector<int64_t>> probe_split(int64_t n, uint64_t seed);

// x: float32 [N, D] features (embeddings or scaled coordinates); y: float32 [N] targets.
ProbeResult run_probe(const torch::Tensor& x, const torch::Tensor& y, const ProbeOptions& options);

// The benchmark's MLP probe (satclip-eval --only tasks): the same network, trained on mini-batches
// so that the whole benchmark runs in minutes. Epoch e (0-based) visits the training rows in the
// order of splitmix64(seeded_key(seed, e * M + j)) for their positions j = 0 .. M-1 in `train`
// (ties by position), in batches of `batch` (the last one shorter); step t of T = epochs *
// ceil(M / batch) uses lr * (1 + cos(pi * t / T)) / 2 (cosine decay to zero).
struct MlpOptions {
  int64_t epochs = 60;
  int64_t batch = 128;
  double lr = 3e-3;
};

// The positions 0 .. m-1 in epoch `epoch`'s order (see MlpOptions).
std::vector<int64_t> epoch_order(int64_t m, uint64_t seed, int64_t epoch);

// The MLP trained on `train` (built after torch::manual_seed(seed)), its predictions for `test`.
// classes == 0: regression on float targets (MSE), [test] float64; classes >= 2: the last layer has
// `classes` outputs, cross-entropy on int64 labels, the argmax as int64 [test].
torch::Tensor mlp_predict(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& train,
                          const std::vector<int64_t>& test, int64_t classes, uint64_t seed, const MlpOptions& options);

}  // namespace satclip::core
