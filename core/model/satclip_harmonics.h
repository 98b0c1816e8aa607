// SatCLIP's `analytic` spherical harmonics evaluated exactly as its released models evaluate them.
//
// SatCLIP computes each real spherical harmonic Y_l^m with a sympy-generated expression: constants
// rounded to 15 significant digits, the Legendre polynomial expanded in cos(theta). At degree 39
// the expanded coefficients reach 1e14 and nearly cancel, so the values carry rounding error that
// grows toward the poles (up to ~0.6 absolute on Y_39^0 near lat -88), and the released L = 40
// models were trained on those values. A mathematically exact evaluation (spherical_harmonics in
// location_encoders.h) differs from SatCLIP's L = 40 embeddings by ~1e-3 relative at lat 55 and
// ~3e-2 near the poles, so this one reproduces the arithmetic: the same constants (the table that
// tools/gen_satclip_harmonics.py writes from the formula with sympy), the same operations in the
// same order, in float64, batched over the L^2 functions (elementwise products and sums are exact
// IEEE operations, so batching does not change a bit; cos, sin and pow run on [N] vectors as in
// SatCLIP). At L = 10 it equals the exact harmonics to ~1e-13.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace satclip::core {

// The largest L (degrees < L) the table holds: SatCLIP's released models use 10 and 40.
int64_t satclip_analytic_max_degree();

// The constants of one L, as tensors on one device (moved there on first use).
class SatclipAnalyticHarmonics {
 public:
  explicit SatclipAnalyticHarmonics(int64_t L);
  // [B, 2] (lat, lon) degrees (any dtype; float64 keeps the caller's precision) -> float64 [B, L^2],
  // features ordered l = 0..L-1, m = -l..l.
  torch::Tensor operator()(const torch::Tensor& lat_lon);

 private:
  void to(const torch::Device& device);
  int64_t L_;
  torch::Tensor coef_, power_;  // [T, F]: the polynomial's terms in evaluation order (0 * x^0 past the end)
  torch::Tensor factor_;        // [F] A (the constant before (1 - x^2)^e); 0 for m = 0
  torch::Tensor base_;          // [F] which B: 0 = (3 - 3 x^2), 1 + j = (1 - x^2)^(j / 2)
  torch::Tensor trig_;          // [F] which trig column: 0 = 1, 2m - 1 = cos(m phi), 2m = sin(m phi)
  torch::Tensor kind_;          // [F] 0 sum, 1 poly, 2 trig, 3 trig_x
};

}  // namespace satclip::core
