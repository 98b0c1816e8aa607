#include "core/eval/probe.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>

#include "core/base/error.h"
#include "core/base/hash.h"

namespace satclip::core {
namespace {

// One Adam step (betas 0.9 / 0.999, eps 1e-8, no weight decay) computed as PyTorch's Python Adam
// computes it on the CPU (the single-tensor path): the first moment by lerp, the bias corrections
// in double, sqrt as pow(x, 0.5). libtorch's C++ Adam updates the first moment with mul + add
// instead, which rounds differently; over 3,000 full-batch epochs such last-bit differences grow
// into a different trajectory (a few percent in the final MSE). With this step the C++ probe
// follows the Python reference.
class PythonAdam {
 public:
  PythonAdam(std::vector<torch::Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
    for (const auto& p : params_) {
      m_.push_back(torch::zeros_like(p));
      v_.push_back(torch::zeros_like(p));
    }
  }
  void zero_grad() {
    for (auto& p : params_) p.mutable_grad() = torch::Tensor();
  }
  void set_lr(double lr) { lr_ = lr; }
  void step() {
    torch::NoGradGuard no_grad;
    const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    ++t_;
    const double bc1 = 1 - std::pow(beta1, double(t_)), bc2 = 1 - std::pow(beta2, double(t_));
    const double step_size = lr_ / bc1, bc2_sqrt = std::pow(bc2, 0.5);
    for (size_t i = 0; i < params_.size(); ++i) {
      const auto& g = params_[i].grad();
      m_[i].lerp_(g, 1 - beta1);
      v_[i].mul_(beta2).addcmul_(g, g, 1 - beta2);
      params_[i].addcdiv_(m_[i], (v_[i].sqrt() / bc2_sqrt).add_(eps), -step_size);
    }
  }

 private:
  std::vector<torch::Tensor> params_, m_, v_;
  double lr_;
  int64_t t_ = 0;
};

}  // namespace

double ProbeResult::mean() const {
  return test_mse.empty() ? 0.0 : std::accumulate(test_mse.begin(), test_mse.end(), 0.0) / double(test_mse.size());
}

double ProbeResult::std() const {
  if (test_mse.size() < 2) return 0.0;
  const double m = mean();
  double s = 0;
  for (const double v : test_mse) s += (v - m) * (v - m);
  return std::sqrt(s / double(test_mse.size() - 1));
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> probe_split(int64_t n, uint64_t seed) {
  std::vector<uint64_t> key(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) key[size_t(i)] = splitmix64(seeded_key(seed, uint64_t(i)));
  std::vector<int64_t> order(key.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key[size_t(a)] < key[size_t(b)]; });
  const auto half = order.begin() + n / 2;
  return {std::vector<int64_t>(order.begin(), half), std::vector<int64_t>(half, order.end())};
}

ProbeResult run_probe(const torch::Tensor& x, const torch::Tensor& y, const ProbeOptions& o) {
  SATCLIP_CHECK(x.dim() == 2 && y.dim() == 1 && x.size(0) == y.size(0) && x.size(0) >= 4,
                cat("probe: features ", x.sizes(), " and targets ", y.sizes(), " do not match (need >= 4 rows)"), "");
  const auto features = x.to(torch::kCPU, torch::kFloat).contiguous();
  const auto target = y.to(torch::kCPU, torch::kFloat).unsqueeze(1).contiguous();
  ProbeResult result;
  for (const int64_t seed : o.seeds) {
    const auto [train, test] = probe_split(features.size(0), uint64_t(seed));
    const auto tr = torch::tensor(train, torch::kLong), te = torch::tensor(test, torch::kLong);
    const auto xt = features.index_select(0, tr), yt = target.index_select(0, tr);
    torch::manual_seed(uint64_t(seed));
    // One statement per layer: the order of the random draws must be Python's, and the order in
    // which a function's arguments are evaluated is unspecified in C++ (g++ goes right to left).
    torch::nn::Sequential mlp;
    mlp->push_back(torch::nn::Linear(features.size(1), 256));
    mlp->push_back(torch::nn::ReLU());
    mlp->push_back(torch::nn::Linear(256, 64));
    mlp->push_back(torch::nn::ReLU());
    mlp->push_back(torch::nn::Linear(64, 1));
    PythonAdam opt(mlp->parameters(), o.lr);
    for (int64_t e = 0; e < o.epochs; ++e) {
      opt.zero_grad();
      torch::nn::functional::mse_loss(mlp->forward(xt), yt).backward();
      opt.step();
    }
    torch::NoGradGuard no_grad;
    const auto mse = torch::nn::functional::mse_loss(mlp->forward(features.index_select(0, te)), target.index_select(0, te));
    result.test_mse.push_back(mse.item<double>());
  }
  return result;
}

std::vector<int64_t> epoch_order(int64_t m, uint64_t seed, int64_t epoch) {
  std::vector<std::pair<uint64_t, int64_t>> keyed(size_t(std::max<int64_t>(m, 0)));
  for (int64_t j = 0; j < m; ++j) keyed[size_t(j)] = {splitmix64(seeded_key(seed, uint64_t(epoch * m + j))), j};
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> order(keyed.size());
  for (size_t j = 0; j < keyed.size(); ++j) order[j] = keyed[j].second;
  return order;
}

torch::Tensor mlp_predict(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& train,
                          const std::vector<int64_t>& test, int64_t classes, uint64_t seed, const MlpOptions& o) {
  SATCLIP_CHECK(!train.empty() && o.epochs >= 1 && o.batch >= 1, "mlp probe: no training rows", "");
  const auto features = x.to(torch::kCPU, torch::kFloat).contiguous();
  const auto tr = torch::tensor(train, torch::kLong), te = torch::tensor(test, torch::kLong);
  const auto xt = features.index_select(0, tr);
  const auto yt = classes == 0 ? y.to(torch::kFloat).index_select(0, tr).unsqueeze(1) : y.index_select(0, tr);
  torch::nn::Sequential mlp;
  {
    // The initial weights come from the global generator: one fit at a time seeds it and draws
    // (training itself draws nothing, the batches come from the hash), so fits may run in threads.
    static std::mutex draws;
    const std::lock_guard<std::mutex> lock(draws);
    torch::manual_seed(seed);
    mlp->push_back(torch::nn::Linear(features.size(1), 256));  // one statement per layer: Python's order
    mlp->push_back(torch::nn::ReLU());
    mlp->push_back(torch::nn::Linear(256, 64));
    mlp->push_back(torch::nn::ReLU());
    mlp->push_back(torch::nn::Linear(64, std::max<int64_t>(classes, 1)));
  }
  PythonAdam opt(mlp->parameters(), o.lr);
  const int64_t m = xt.size(0), per_epoch = (m + o.batch - 1) / o.batch, total = o.epochs * per_epoch;
  int64_t step = 0;
  for (int64_t e = 0; e < o.epochs; ++e) {
    const auto order = torch::tensor(epoch_order(m, seed, e), torch::kLong);
    for (int64_t b = 0; b < m; b += o.batch, ++step) {
      const auto rows = order.narrow(0, b, std::min(o.batch, m - b));
      opt.set_lr(o.lr * (1 + std::cos(M_PI * double(step) / double(total))) / 2);
      opt.zero_grad();
      const auto out = mlp->forward(xt.index_select(0, rows));
      const auto target = yt.index_select(0, rows);
      (classes == 0 ? torch::nn::functional::mse_loss(out, target) : torch::nn::functional::cross_entropy(out, target))
          .backward();
      opt.step();
    }
  }
  torch::NoGradGuard no_grad;
  const auto out = mlp->forward(features.index_select(0, te));
  return classes == 0 ? out.squeeze(1).to(torch::kDouble) : out.argmax(1);
}

}  // namespace satclip::core
