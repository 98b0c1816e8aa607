// satclip-eval's probe benchmark: several encoders (checkpoints, baselines) on several tasks
// (tasks.h), with three probes (mlp: the SatCLIP notebook's MLP, probe.h; linear and knn:
// classic_probes.h) under two splits (splits.h), on identical splits for every encoder.
//
// Per seed s of 0 .. seeds-1: random: probe_split(N, s), the metric on its test half; spatial:
// spatial_folds(lat, lon, block_deg, folds, s), each point predicted once by the fold that tests
// it, the metric on all N predictions. Regression reports mse (of y / max |y|) and r2,
// classification accuracy and macro_f1; every figure is the mean and sample std over the seeds.
// The fits (seeds and folds) of one encoder, probe and split run side by side, one worker thread
// per fit up to `threads`, the threads left over shared among them for ATen's kernels. Each fit is
// a pure function of its rows and seed; only the kernels' threading (as for any thread count) can
// change float32 rounding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/eval/probe.h"
#include "core/eval/tasks.h"
#include "core/eval/world_map.h"

namespace satclip::core {

struct Encoder {
  std::string name;
  LocationEmbedder embed;  // [N, 2] (lat, lon) float64 -> [N, D]
};

// The built-in baselines: raw (lat / 90, lon / 180) and sincos (sin and cos of lat and lon).
Encoder baseline_encoder(const std::string& name);
inline const std::vector<std::string> kBaselines = {"raw", "sincos"};

struct BenchmarkOptions {
  std::vector<std::string> probes = {"mlp", "linear", "knn"};
  std::vector<std::string> splits = {"random", "spatial"};
  int64_t seeds = 3;
  double block_deg = 10;
  int64_t folds = 5;
  MlpOptions mlp;
  int threads = 0;  // the threads to use (0: ATen's intra-op thread count, e.g. OMP_NUM_THREADS)
};

struct ResultRow {
  std::string encoder, task, probe, split, metric;
  std::vector<double> values;  // one per seed
  double seconds = 0;          // fitting and predicting, all seeds (the same for each metric)
  double mean() const;
  double std() const;
};

// Seed 0's predictions of one encoder, task, probe and split: for `rows` of the task (random: the
// test half; spatial: every point, each from the fold that tests it).
struct Predictions {
  std::string encoder, task, probe, split;
  std::vector<int64_t> rows;
  torch::Tensor predicted;  // [rows] float64 (regression) or int64 labels
};

struct BenchmarkResult {
  std::vector<ResultRow> rows;
  std::vector<Predictions> predictions;
};

BenchmarkResult run_benchmark(const std::vector<Encoder>& encoders, const std::vector<TaskData>& tasks,
                              const BenchmarkOptions& options);

// {"encoder": ..., "task": ..., ...} objects, one per row (report.json's "results").
std::string results_json(const std::vector<ResultRow>& rows);
// A Markdown table per task and metric: one row per encoder, one column per probe and split.
std::string results_markdown(const std::vector<ResultRow>& rows);

}  // namespace satclip::core
