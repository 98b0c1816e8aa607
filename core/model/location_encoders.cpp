#include "core/model/location_encoders.h"

#include <cmath>

#include "core/base/error.h"

namespace satclip::core {
namespace {

constexpr double kPi = 3.14159265358979323846;
namespace nn = torch::nn;

}  // namespace

torch::Tensor equal_earth(const torch::Tensor& lat_lon) {
  // The operations run in GeoCLIP's order and precision: the sigma = 256 capsule turns rounding
  // differences of 1e-7 in the projection into 1e-4 differences of the embedding.
  constexpr double A1 = 1.340264, A2 = -0.081106, A3 = 0.000893, A4 = 0.003796, SF = 66.50336;
  const auto lat = torch::deg2rad(lat_lon.select(1, 0));
  const auto lon = torch::deg2rad(lat_lon.select(1, 1));
  const auto sqrt3 = torch::full({}, 3.0, lat_lon.options()).sqrt();  // on the device: no host copy (CUDA graphs)
  const auto theta = torch::asin((sqrt3 / 2) * torch::sin(lat));
  const auto denom = 3 * ((9 * A4) * theta.pow(8) + (7 * A3) * theta.pow(6) + (3 * A2) * theta.pow(2) + A1);
  const auto x = (2 * sqrt3 * lon * torch::cos(theta)) / denom;
  const auto y = A4 * theta.pow(9) + A3 * theta.pow(7) + A2 * theta.pow(3) + A1 * theta;
  return (torch::stack({x, y}, 1) * SF) / 180;
}

GaussianEncodingImpl::GaussianEncodingImpl(double sigma, int64_t encoded_size, bool trainable) {
  b = register_parameter("b", torch::randn({encoded_size, 2}) * sigma, trainable);
}

torch::Tensor GaussianEncodingImpl::forward(const torch::Tensor& v) {
  const auto vp = (2 * kPi * v).matmul(b.t());
  return torch::cat({torch::cos(vp), torch::sin(vp)}, -1);
}

GeoClipCapsuleImpl::GeoClipCapsuleImpl(double sigma, bool train_rff) {
  capsule = register_module(
      "capsule", nn::Sequential(GaussianEncoding(sigma, 256, train_rff), nn::Linear(512, 1024), nn::ReLU(),
                                nn::Linear(1024, 1024), nn::ReLU(), nn::Linear(1024, 1024), nn::ReLU()));
  head = register_module("head", nn::Sequential(nn::Linear(1024, 512)));
}

torch::Tensor GeoClipCapsuleImpl::forward(const torch::Tensor& projected) {
  return head->forward(capsule->forward(projected));
}

GeoClipLocationEncoderImpl::GeoClipLocationEncoderImpl(const std::vector<double>& sigmas, bool train_rff) {
  SATCLIP_CHECK(!sigmas.empty(), "the GeoCLIP location encoder needs at least one sigma",
                "set model.geoclip_sigmas, e.g. [1, 16, 256]");
  for (size_t i = 0; i < sigmas.size(); ++i) {
    capsules.push_back(register_module("LocEnc" + std::to_string(i), GeoClipCapsule(sigmas[i], train_rff)));
  }
}

torch::Tensor GeoClipLocationEncoderImpl::forward(const torch::Tensor& lat_lon) {
  const torch::Tensor ref = capsules.front()->head->parameters().front();
  const auto projected = equal_earth(lat_lon.to(ref.scalar_type()));
  torch::Tensor sum;
  for (auto& c : capsules) {
    auto out = c->forward(projected);
    sum = sum.defined() ? sum + out : out;
  }
  return sum;
}

torch::Tensor spherical_harmonics(const torch::Tensor& lat_lon, int64_t L, Harmonics convention) {
  SATCLIP_CHECK(L >= 1 && L <= 100, cat("spherical harmonics degree ", L, " outside 1 .. 100"), "");
  const auto ll = lat_lon.to(torch::kDouble);
  const auto phi = torch::deg2rad(ll.select(1, 1) + 180.0);
  const auto theta = torch::deg2rad(ll.select(1, 0) + 90.0);
  const auto x = torch::cos(theta);
  const auto s = torch::sin(theta);  // = sqrt(1 - x^2) >= 0 for theta in [0, pi]
  const int64_t n = ll.size(0);
  std::vector<torch::Tensor> out(L * L);
  // Orthonormalised associated Legendre functions N_l^m P_l^m(x) with the Condon-Shortley phase,
  // by the stable recurrences in m (diagonal) and then in l; no factorials, exact to ~1e-15 at
  // high degree.
  std::vector<torch::Tensor> pmm(L);
  pmm[0] = torch::full({n}, std::sqrt(1.0 / (4 * kPi)), ll.options());
  for (int64_t m = 1; m < L; ++m) pmm[m] = -std::sqrt((2.0 * m + 1) / (2.0 * m)) * s * pmm[m - 1];
  for (int64_t m = 0; m < L; ++m) {
    torch::Tensor p_prev = pmm[m];  // l = m
    torch::Tensor p_cur;
    const auto cos_m = torch::cos(double(m) * phi), sin_m = torch::sin(double(m) * phi);
    for (int64_t l = m; l < L; ++l) {
      torch::Tensor p;
      if (l == m) {
        p = pmm[m];
      } else if (l == m + 1) {
        p = std::sqrt(2.0 * m + 3) * x * pmm[m];
        p_cur = p;
      } else {
        const double a = std::sqrt((4.0 * l * l - 1) / (double(l) * l - double(m) * m));
        const double b = std::sqrt(((l - 1.0) * (l - 1.0) - double(m) * m) / (4.0 * (l - 1.0) * (l - 1.0) - 1));
        p = a * (x * p_cur - b * p_prev);
        p_prev = p_cur;
        p_cur = p;
      }
      const bool analytic = convention == Harmonics::kAnalytic;
      if (m == 0) {
        out[l * l + l] = analytic ? kPi * p : p;
      } else {
        // p carries the Condon-Shortley phase (-1)^m; analytic drops it.
        const double factor = analytic && m % 2 == 1 ? -std::sqrt(2.0) : std::sqrt(2.0);
        out[l * l + l + m] = factor * p * cos_m;
        out[l * l + l - m] = factor * p * sin_m;
      }
    }
  }
  return torch::stack(out, 1);
}

SirenLayerImpl::SirenLayerImpl(int64_t in, int64_t out, double w0_, bool first, double p) : w0(w0_) {
  linear = register_module("linear", nn::Linear(in, out));
  dropout = register_module("dropout", nn::Dropout(p));
  const double bound = first ? 1.0 / in : std::sqrt(6.0 / in) / w0;
  torch::NoGradGuard g;
  linear->weight.uniform_(-bound, bound);
  linear->bias.uniform_(-bound, bound);
}

torch::Tensor SirenLayerImpl::forward(const torch::Tensor& x) {
  return torch::sin(w0 * dropout(linear(x)));
}

SirenImpl::SirenImpl(int64_t in, int64_t hidden, int64_t out, int64_t n_layers, double p) {
  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < n_layers; ++i) {
    layers->push_back(SirenLayer(i == 0 ? in : hidden, hidden, i == 0 ? 30.0 : 1.0, i == 0, p));
  }
  last_layer = register_module("last_layer", nn::Linear(hidden, out));
}

torch::Tensor SirenImpl::forward(torch::Tensor x) {
  for (auto& layer : *layers) x = layer->as<SirenLayer>()->forward(x);
  return last_layer(x);
}

}  // namespace satclip::core
