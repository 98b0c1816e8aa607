// Ridge and k-nearest-neighbour probes, as scikit-learn computes them, each with its
// hyper-parameter chosen by an inner cross-validation on the training rows.
//
//   ridge, regression      Ridge(alpha) with an intercept: X and y centred, then
//                          (Xc^T Xc + alpha I) w = Xc^T yc, in float64
//   ridge, classification  RidgeClassifier(alpha): targets -1 / +1 per class (one column, for the
//                          larger label, when there are two), the same solve; the class of the
//                          largest score (score > 0 for two classes)
//   knn                    KNeighborsRegressor / KNeighborsClassifier(k), uniform weights,
//                          Euclidean distances in float64 (equal distances in no set order, as in
//                          sklearn); regression: the mean
//                          of the k targets; classification: the most frequent label, the smallest
//                          on ties
// Inner CV: contiguous_folds(n_train, 5) over the training rows in their given order, every value
// of the grid (kRidgeAlphas, kKnnNeighbours; k above the smallest inner training set skipped);
// the value with the best mean score (lowest MSE, highest accuracy), the first on ties, is refit
// on all training rows.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace satclip::core {

enum class ProbeTask { kRegression, kClassification };

inline const std::vector<double> kRidgeAlphas = {1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0};
inline const std::vector<int64_t> kKnnNeighbours = {1, 3, 5, 10, 20, 50};

struct ProbeFit {
  double chosen = 0;        // alpha or k
  torch::Tensor predicted;  // [test] float64 (regression) or int64 labels (classification)
};

// x: [N, D] features (any float dtype); y: [N] float64 targets or int64 labels; train/test: rows.
ProbeFit ridge_probe(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& train,
                     const std::vector<int64_t>& test, ProbeTask task);
ProbeFit knn_probe(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& train,
                   const std::vector<int64_t>& test, ProbeTask task);

// Metrics as sklearn.metrics computes them: mean_squared_error, r2_score, accuracy_score,
// f1_score(average="macro") over the labels in either tensor.
double mse(const torch::Tensor& predicted, const torch::Tensor& truth);
double r2(const torch::Tensor& predicted, const torch::Tensor& truth);
double accuracy(const torch::Tensor& predicted, const torch::Tensor& truth);
double macro_f1(const torch::Tensor& predicted, const torch::Tensor& truth);

}  // namespace satclip::core
