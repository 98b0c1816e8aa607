#include "core/eval/classic_probes.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>
#include <map>

#include "core/base/error.h"
#include "core/eval/splits.h"

namespace satclip::core {
namespace {

constexpr int64_t kInnerFolds = 5;

torch::Tensor rows(const torch::Tensor& t, const std::vector<int64_t>& index) {
  return t.index_select(0, torch::tensor(index, torch::kLong));
}

// Ridge with an intercept on targets Y [n, t]; predictions for x_test [m, t].
torch::Tensor ridge_solve(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& x_test, double alpha) {
  const auto x_mean = x.mean(0), y_mean = y.mean(0);
  const auto xc = x - x_mean, yc = y - y_mean;
  const auto gram = xc.t().matmul(xc) + alpha * torch::eye(x.size(1), x.options());
  const auto w = at::linalg_solve(gram, xc.t().matmul(yc));
  return (x_test - x_mean).matmul(w) + y_mean;
}

// RidgeClassifier: -1/+1 targets per class (one column for two classes), then the best score.
torch::Tensor ridge_predict(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& x_test, double alpha,
                            ProbeTask task) {
  if (task == ProbeTask::kRegression) return ridge_solve(x, y.unsqueeze(1), x_test, alpha).squeeze(1);
  const auto classes = std::get<0>(at::_unique(y, /*sorted=*/true));
  if (classes.size(0) == 1) return classes.expand({x_test.size(0)}).clone();
  if (classes.size(0) == 2) {
    const auto target = torch::where(y == classes[1], 1.0, -1.0).to(torch::kDouble).unsqueeze(1);
    const auto score = ridge_solve(x, target, x_test, alpha).squeeze(1);
    return torch::where(score > 0, classes[1], classes[0]);
  }
  const auto target = (y.unsqueeze(1) == classes.unsqueeze(0)).to(torch::kDouble) * 2 - 1;
  return classes.index_select(0, ridge_solve(x, target, x_test, alpha).argmax(1));
}

torch::Tensor knn_predict(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& x_test, int64_t k,
                          ProbeTask task) {
  const auto d = torch::cdist(x_test, x);  // float64, [m, n]
  // Stable: equal distances keep the training rows' order.
  const auto nearest = std::get<1>(d.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false)).narrow(1, 0, k);
  const auto labels = y.index({nearest});  // [m, k]
  if (task == ProbeTask::kRegression) return labels.mean(1);
  const auto classes = std::get<0>(at::_unique(y, /*sorted=*/true));
  const auto counts = (labels.unsqueeze(2) == classes.view({1, 1, -1})).sum(1);  // [m, C]
  return classes.index_select(0, counts.argmax(1));  // the first (smallest) class on ties
}

// The grid value with the best mean inner-CV score, the first on ties.
template <typename V>
V choose(const std::vector<V>& grid, const torch::Tensor& x, const torch::Tensor& y, ProbeTask task,
         const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, V)>& predict) {
  const auto folds = contiguous_folds(x.size(0), kInnerFolds);
  V best = grid.front();
  double best_score = 0;
  bool any = false;
  for (const V& value : grid) {
    double total = 0;
    for (const auto& f : folds) {
      const auto p = predict(rows(x, f.train), rows(y, f.train), rows(x, f.test), value);
      const auto truth = rows(y, f.test);
      total += task == ProbeTask::kRegression ? -mse(p, truth) : accuracy(p, truth);
    }
    const double score = total / double(folds.size());
    if (!any || score > best_score) best = value, best_score = score, any = true;
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
  const double alpha = choose<double>(kRidgeAlphas, xt, yt, task, [task](auto& a, auto& b, auto& c, double v) {
    return ridge_predict(a, b, c, v, task);
  });
  return {alpha, ridge_predict(xt, yt, rows(x, test), alpha, task)};
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
  const int64_t k = choose<int64_t>(grid, xt, yt, task, [task](auto& a, auto& b, auto& c, int64_t v) {
    return knn_predict(a, b, c, v, task);
  });
  return {double(k), knn_predict(xt, yt, rows(x, test), k, task)};
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
