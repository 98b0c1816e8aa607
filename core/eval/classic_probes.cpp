#include "core/eval/classic_probes.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>

#include "core/base/error.h"
#include "core/eval/splits.h"

namespace satclip::core {
namespace {

constexpr int64_t kInnerFolds = 5;

torch::Tensor rows(const torch::Tensor& t, const std::vector<int64_t>& index) {
  return t.index_select(0, torch::tensor(index, torch::kLong));
}

// Ridge with an intercept on targets Y [n, t], for several alphas: X and Y centred and X^T X
// formed once, then (Xc^T Xc + alpha I) w = Xc^T Yc solved per alpha.
class RidgeSystem {
 public:
  RidgeSystem(const torch::Tensor& x, const torch::Tensor& y)
      : x_mean_(x.mean(0)), y_mean_(y.mean(0)) {
    const auto xc = x - x_mean_;
    gram_ = xc.t().matmul(xc);
    rhs_ = xc.t().matmul(y - y_mean_);
  }
  // Predictions [m, t] for x_test [m, d].
  torch::Tensor predict(const torch::Tensor& x_test, double alpha) const {
    const auto w = at::linalg_solve(gram_ + alpha * torch::eye(gram_.size(0), gram_.options()), rhs_);
    return (x_test - x_mean_).matmul(w) + y_mean_;
  }

 private:
  torch::Tensor x_mean_, y_mean_, gram_, rhs_;
};

// The ridge targets: y itself [n, 1] (regression), or RidgeClassifier's -1/+1 per class (one
// column, for the larger label, when there are two).
torch::Tensor ridge_targets(const torch::Tensor& y, const torch::Tensor& classes, ProbeTask task) {
  if (task == ProbeTask::kRegression) return y.unsqueeze(1);
  if (classes.size(0) <= 2) return torch::where(y == classes[classes.size(0) - 1], 1.0, -1.0).to(torch::kDouble).unsqueeze(1);
  return (y.unsqueeze(1) == classes.unsqueeze(0)).to(torch::kDouble) * 2 - 1;
}

// Scores [m, t] -> predictions: the value (regression), or the class of the best score.
torch::Tensor ridge_decide(const torch::Tensor& score, const torch::Tensor& classes, ProbeTask task) {
  if (task == ProbeTask::kRegression) return score.squeeze(1);
  if (classes.size(0) == 1) return classes.expand({score.size(0)}).clone();
  if (classes.size(0) == 2) return torch::where(score.squeeze(1) > 0, classes[1], classes[0]);
  return classes.index_select(0, score.argmax(1));
}

// The k nearest training rows of each test row, nearest first: [m, k] indices.
torch::Tensor nearest(const torch::Tensor& x, const torch::Tensor& x_test, int64_t k) {
  const auto d = torch::cdist(x_test, x);  // float64, [m, n]
  return std::get<1>(d.topk(k, /*dim=*/1, /*largest=*/false, /*sorted=*/true));
}

// Predictions from the first k of `neighbours` (nearest first).
torch::Tensor knn_vote(const torch::Tensor& y, const torch::Tensor& neighbours, int64_t k, ProbeTask task) {
  const auto labels = y.index({neighbours.narrow(1, 0, k)});  // [m, k]
  if (task == ProbeTask::kRegression) return labels.mean(1);
  const auto classes = std::get<0>(at::_unique(y, /*sorted=*/true));
  const auto counts = (labels.unsqueeze(2) == classes.view({1, 1, -1})).sum(1);  // [m, C]
  return classes.index_select(0, counts.argmax(1));  // the first (smallest) class on ties
}

// The index of the best mean inner-CV score, the first on ties.
size_t best_of(const std::vector<double>& total) {
  size_t best = 0;
  for (size_t g = 1; g < total.size(); ++g) {
    if (total[g] > total[best]) best = g;
  }
  return best;
}

void check_inputs(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& train, ProbeTask task) {
  SATCLIP_CHECK(x.dim() == 2 && y.dim() == 1 && x.size(0) == y.size(0), "probe: x must be [N, D] and y [N]", "");
  SATCLIP_CHECK(int64_t(train.size()) >= 2 * kInnerFolds,
                cat("probe: ", train.size(), " training points are too few for a ", kInnerFolds, "-fold inner cross-validation"),
                "give the task more points, or fewer folds");
  SATCLIP_CHECK(task == ProbeTask::kRegression ? y.scalar_type() == torch::kDouble : y.scalar_type() == torch::kLong,
                "probe: regression targets are float64, classification labels int64", "");
}

}  // namespace

ProbeFit ridge_probe(const torch::Tensor& x_in, const torch::Tensor& y, const std::vector<int64_t>& train,
                     const std::vector<int64_t>& test, ProbeTask task) {
  check_inputs(x_in, y, train, task);
  const auto x = x_in.to(torch::kDouble);
  const auto xt = rows(x, train), yt = rows(y, train);
  std::vector<double> score(kRidgeAlphas.size(), 0.0);
  for (const auto& f : contiguous_folds(xt.size(0), kInnerFolds)) {
    const auto yf = rows(yt, f.train), truth = rows(yt, f.test);
    // The classes of the inner training rows, as RidgeClassifier fitted on them sees them.
    const auto classes = task == ProbeTask::kRegression ? torch::Tensor() : std::get<0>(at::_unique(yf, true));
    const RidgeSystem system(rows(xt, f.train), ridge_targets(yf, classes, task));
    const auto xs = rows(xt, f.test);
    for (size_t g = 0; g < kRidgeAlphas.size(); ++g) {
      const auto p = ridge_decide(system.predict(xs, kRidgeAlphas[g]), classes, task);
      score[g] += task == ProbeTask::kRegression ? -mse(p, truth) : accuracy(p, truth);
    }
  }
  const double alpha = kRidgeAlphas[best_of(score)];
  const auto classes = task == ProbeTask::kRegression ? torch::Tensor() : std::get<0>(at::_unique(yt, true));
  const RidgeSystem system(xt, ridge_targets(yt, classes, task));
  return {alpha, ridge_decide(system.predict(rows(x, test), alpha), classes, task)};
}

ProbeFit knn_probe(const torch::Tensor& x_in, const torch::Tensor& y, const std::vector<int64_t>& train,
                   const std::vector<int64_t>& test, ProbeTask task) {
  check_inputs(x_in, y, train, task);
  const auto x = x_in.to(torch::kDouble);
  const auto xt = rows(x, train), yt = rows(y, train);
  const int64_t smallest_inner = int64_t(train.size()) - (int64_t(train.size()) + kInnerFolds - 1) / kInnerFolds;
  std::vector<int64_t> grid;
  for (const int64_t k : kKnnNeighbours) {
    if (k <= smallest_inner) grid.push_back(k);
  }
  // Each inner fold's neighbours are found once, up to the largest k, and every k reads them.
  std::vector<double> score(grid.size(), 0.0);
  const auto folds = contiguous_folds(xt.size(0), kInnerFolds);
  for (const auto& f : folds) {
    const auto yf = rows(yt, f.train), truth = rows(yt, f.test);
    const auto order = nearest(rows(xt, f.train), rows(xt, f.test), grid.back());
    for (size_t g = 0; g < grid.size(); ++g) {
      const auto p = knn_vote(yf, order, grid[g], task);
      score[g] += task == ProbeTask::kRegression ? -mse(p, truth) : accuracy(p, truth);
    }
  }
  const int64_t k = grid[best_of(score)];
  return {double(k), knn_vote(yt, nearest(xt, rows(x, test), k), k, task)};
}

double mse(const torch::Tensor& p, const torch::Tensor& t) { return (p - t).pow(2).mean().item<double>(); }

double r2(const torch::Tensor& p, const torch::Tensor& t) {
  const double sse = (t - p).pow(2).sum().item<double>();
  const double sst = (t - t.mean()).pow(2).sum().item<double>();
  return sst > 0 ? 1 - sse / sst : (sse == 0 ? 1.0 : 0.0);
}

double accuracy(const torch::Tensor& p, const torch::Tensor& t) {
  return (p == t).to(torch::kDouble).mean().item<double>();
}

double macro_f1(const torch::Tensor& p, const torch::Tensor& t) {
  const auto labels = std::get<0>(at::_unique(torch::cat({p, t}), /*sorted=*/true));
  double total = 0;
  for (int64_t i = 0; i < labels.size(0); ++i) {
    const auto l = labels[i];
    const double tp = ((p == l) & (t == l)).sum().item<double>();
    const double fp = ((p == l) & (t != l)).sum().item<double>();
    const double fn = ((p != l) & (t == l)).sum().item<double>();
    total += 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0.0;
  }
  return total / double(labels.size(0));
}

}  // namespace satclip::core
