// The one rule for comparing float tensors (gradients, embeddings) in the tests, on any CPU.
//
// float64: the claim is exactness, so the check stays a plain relative error (1e-10 or tighter).
//
// float32: every CPU (vector width, BLAS path, reduction order) rounds the sums inside a forward
// and backward pass differently. Where the summed terms nearly cancel (a LayerNorm bias in a
// contrastive loss, a conv weight whose gradient sums over samples and pixels), the result is off
// by far more than eps relative to itself while being exactly as good as float32 allows; a fixed
// relative tolerance then measures the CPU, not the code. So the tolerance is scaled by the
// rounding error float32 actually makes in that tensor, measured in the same test:
//
//     || got - ref ||_2  <=  kRoundingFactor * ( || ref32 - ref64 ||_2 + eps32 * || ref64 ||_2 )
//
// where ref32 and ref64 are the reference computation in float32 and in float64 (the truth). Two
// float32 computations of the same quantity in different orders differ by about as much as each
// differs from the truth; kRoundingFactor = 16 leaves room for the spread of that ratio, and the
// eps32 term covers tensors that float32 happens to get exact. A wrong result (an unaveraged or a
// summed gradient, a skipped bucket) is off by the size of the tensor itself, far above this
// bound unless the tensor is pure rounding noise; the tests check that their mutated results fail.
#pragma once

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>

#include <ATen/ATen.h>

namespace satclip::testing {

constexpr double kRoundingFactor = 16;
constexpr double kEps32 = std::numeric_limits<float>::epsilon();

// max |a - b| / max|b| (0 when both are empty).
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  if (b.numel() == 0) return a.numel() == 0 ? 0.0 : 1.0;
  const auto ad = a.detach().to(at::kCPU, at::kDouble);
  const auto bd = b.detach().to(at::kCPU, at::kDouble);
  const double scale = std::max(bd.abs().max().item<double>(), 1e-30);
  return (ad - bd).abs().max().item<double>() / scale;
}

inline double norm2(const at::Tensor& t) { return t.detach().to(at::kCPU, at::kDouble).norm().item<double>(); }

// The float32 tolerance for a tensor whose float32 reference is `ref32` and float64 truth `ref64`.
inline double float32_tolerance(const at::Tensor& ref32, const at::Tensor& ref64) {
  const auto r64 = ref64.detach().to(at::kCPU, at::kDouble);
  return kRoundingFactor * (norm2(ref32.detach().to(at::kCPU, at::kDouble) - r64) + kEps32 * norm2(r64));
}

// The rule for one tensor. Both float64: max-relative error <= relative_tolerance. Otherwise (a
// float32 side): || got - ref ||_2 <= `tolerance` (from float32_tolerance). Returns a message
// naming the tensor when it fails, "" when it holds.
inline std::string mismatch(const std::string& name, const at::Tensor& got, const at::Tensor& ref, double tolerance,
                            double relative_tolerance = 1e-10) {
  if (got.scalar_type() == at::kDouble && ref.scalar_type() == at::kDouble) {
    const double e = relative_error(got, ref);
    return e <= relative_tolerance ? "" : name + ": float64 relative error " + std::to_string(e) + " > " +
                                              std::to_string(relative_tolerance);
  }
  const double e = norm2(got.detach().to(at::kCPU, at::kDouble) - ref.detach().to(at::kCPU, at::kDouble));
  if (e <= tolerance) return "";
  char buf[160];
  std::snprintf(buf, sizeof buf, ": |got - ref| = %.3e > %.3e (16 x the reference's float32 rounding error + 16 eps |ref|)",
                e, tolerance);
  return name + buf;
}

}  // namespace satclip::testing
