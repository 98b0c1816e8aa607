#include "core/model/satclip_harmonics.h"

#include <vector>

#include "core/base/error.h"

namespace satclip::core {
namespace {

struct SatclipHarmonic {
  int l, m, kind;
  double factor, exponent;  // A, e
  int first, count;         // terms [first, first + count) of kSatclipTerms
};
struct SatclipTerm {
  double c;
  int k;  // c * cos(theta)^k
};
#include "core/model/satclip_harmonics_table.inc"

enum Kind { kSum = 0, kPoly = 1, kTrig = 2, kTrigX = 3 };

}  // namespace

int64_t satclip_analytic_max_degree() { return kSatclipMaxDegree; }

SatclipAnalyticHarmonics::SatclipAnalyticHarmonics(int64_t L) : L_(L) {
  SATCLIP_CHECK(L >= 1 && L <= kSatclipMaxDegree,
                cat("SatCLIP's analytic spherical harmonics are tabulated for L = 1 .. ", kSatclipMaxDegree, ", not ", L),
                "use model.harmonics: closed_form for higher degrees (SatCLIP's released models use L = 10 and 40)");
  const int64_t F = L * L;
  int64_t T = 1;
  for (int64_t f = 0; f < F; ++f) T = std::max<int64_t>(T, kSatclipHarmonics[f].count);
  const auto n = static_cast<size_t>(F);
  std::vector<double> coef(n * size_t(T), 0.0), factor(n, 0.0);
  std::vector<int64_t> power(n * size_t(T), 0), base(n, 0), trig(n, 0), kind(n, 0);
  for (int64_t f = 0; f < F; ++f) {
    const auto& h = kSatclipHarmonics[f];
    SATCLIP_CHECK(h.l * h.l + h.l + h.m == f, "the SatCLIP harmonics table is out of order", "regenerate it");
    for (int j = 0; j < h.count; ++j) {
      coef[size_t(j * F + f)] = kSatclipTerms[h.first + j].c;
      power[size_t(j * F + f)] = kSatclipTerms[h.first + j].k;
    }
    factor[size_t(f)] = h.factor;
    base[size_t(f)] = h.exponent == 0 ? 0 : int64_t(2 * h.exponent);
    trig[size_t(f)] = h.m == 0 ? 0 : (h.m > 0 ? 2 * h.m - 1 : -2 * h.m);
    kind[size_t(f)] = h.kind;
  }
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  const auto i64 = torch::TensorOptions().dtype(torch::kLong);
  coef_ = torch::tensor(coef, f64).view({T, F});
  power_ = torch::tensor(power, i64).view({T, F});
  factor_ = torch::tensor(factor, f64);
  base_ = torch::tensor(base, i64);
  trig_ = torch::tensor(trig, i64);
  kind_ = torch::tensor(kind, i64);
}

void SatclipAnalyticHarmonics::to(const torch::Device& device) {
  if (coef_.device() == device) return;
  for (auto* t : {&coef_, &power_, &factor_, &base_, &trig_, &kind_}) *t = t->to(device);
}

torch::Tensor SatclipAnalyticHarmonics::operator()(const torch::Tensor& lat_lon) {
  const auto ll = lat_lon.to(torch::kDouble);
  to(ll.device());
  // SatCLIP: phi = deg2rad(lon + 180), theta = deg2rad(lat + 90), x = cos(theta); every
  // transcendental on an [N] vector, as SatCLIP's expressions compute it.
  const auto phi = torch::deg2rad(ll.select(1, 1) + 180);
  const auto x = torch::cos(torch::deg2rad(ll.select(1, 0) + 90));
  const int64_t F = L_ * L_;
  std::vector<torch::Tensor> powers{torch::ones_like(x), x};
  for (int64_t k = 2; k < std::max<int64_t>(L_, 2); ++k) powers.push_back(torch::pow(x, k));
  const auto x2 = torch::pow(x, 2);
  const auto one_minus = torch::rsub(x2, 1.0);  // 1.0 - cos(theta)**2
  // B: (3.0 - 3.0*cos(theta)**2) (Y_2^{+-2}), then (1.0 - cos(theta)**2)**(j/2), j = 1 .. 2L.
  std::vector<torch::Tensor> bases{torch::rsub(x2 * 3.0, 3.0)};
  for (int64_t j = 1; j <= 2 * L_; ++j) {
    if (j == 2) {
      bases.push_back(one_minus);  // printed without a power
    } else if (j % 2 == 0) {
      bases.push_back(torch::pow(one_minus, j / 2));
    } else {
      bases.push_back(torch::pow(one_minus, double(j) / 2));
    }
  }
  std::vector<torch::Tensor> trig{torch::ones_like(x)};
  for (int64_t m = 1; m < L_; ++m) {
    const auto angle = m == 1 ? phi : phi * m;
    trig.push_back(torch::cos(angle));
    trig.push_back(torch::sin(angle));
  }
  // The polynomial, term by term in the printed order: sum = c0 x^k0, then sum + cj x^kj.
  const auto xs = torch::stack(powers, 1);
  torch::Tensor sum;
  for (int64_t j = 0; j < coef_.size(0); ++j) {
    const auto t = xs.index_select(1, power_[j]) * coef_[j];
    sum = j == 0 ? t : sum + t;
  }
  // Y = ((A * B) * u) * v: poly u = sum, v = trig; trig u = trig, v = 1; trig_x u = trig, v = x.
  const auto trig_f = torch::stack(trig, 1).index_select(1, trig_);
  const auto z = torch::stack(bases, 1).index_select(1, base_) * factor_;
  const auto is_poly = (kind_ == kPoly).view({1, F});
  const auto u = torch::where(is_poly, sum, trig_f);
  const auto v = torch::where(is_poly, trig_f,
                              torch::where((kind_ == kTrigX).view({1, F}), x.unsqueeze(1).expand({-1, F}),
                                           torch::ones_like(trig_f)));
  return torch::where((kind_ == kSum).view({1, F}), sum, (z * u) * v);
}

}  // namespace satclip::core
