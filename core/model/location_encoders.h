// Location encoders: (lat, lon) in degrees -> feature vector.
//
// GeoClipLocationEncoder: GeoCLIP's encoder. The Equal Earth projection of (lat, lon), then one
// capsule per sigma (random Fourier features with a fixed matrix b [256, 2] ~ N(0, 1) * sigma,
// gamma(v) = [cos(2 pi v b^T), sin(2 pi v b^T)], three Linear+ReLU of width 1024 and a Linear
// head to 512); the capsule outputs are summed. Names: LocEnc{i}.capsule.{0.b,1,3,5}, .head.0.
//
// SphericalHarmonicsEncoder + Siren: SatCLIP's encoder. Real spherical harmonics Y_l^m for
// l < L (L^2 features, computed in float64) of phi = rad(lon + 180), theta = rad(lat + 90),
// followed by a SIREN.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "core/base/options.h"

namespace satclip::core {

// Equal Earth projection of [B, 2] (lat, lon) degrees, scaled as GeoCLIP does (SF / 180).
torch::Tensor equal_earth(const torch::Tensor& lat_lon);

struct GaussianEncodingImpl : torch::nn::Module {
  GaussianEncodingImpl(double sigma, int64_t encoded_size, bool trainable);
  torch::Tensor forward(const torch::Tensor& v);
  torch::Tensor b;
};
TORCH_MODULE(GaussianEncoding);

struct GeoClipCapsuleImpl : torch::nn::Module {
  GeoClipCapsuleImpl(double sigma, bool train_rff);
  torch::Tensor forward(const torch::Tensor& projected);
  torch::nn::Sequential capsule{nullptr}, head{nullptr};
};
TORCH_MODULE(GeoClipCapsule);

struct GeoClipLocationEncoderImpl : torch::nn::Module {
  GeoClipLocationEncoderImpl(const std::vector<double>& sigmas, bool train_rff);
  // [B, 2] (lat, lon) degrees -> [B, 512].
  torch::Tensor forward(const torch::Tensor& lat_lon);
  std::vector<GeoClipCapsule> capsules;
};
TORCH_MODULE(GeoClipLocationEncoder);

// Real spherical harmonics of degree < L in SatCLIP's two conventions, ordered by l then m = -l..l
// (feature l*l + l + m), of phi = rad(lon + 180) and theta = rad(lat + 90) (so cos theta = -sin lat:
// the basis' pole theta = 0 is the south pole):
//   closed_form  orthonormal N(l,m) P_l^m(cos theta) with the Condon-Shortley phase (-1)^m in P,
//                times sqrt(2) cos(m phi) for m > 0 and sqrt(2) sin(|m| phi) for m < 0
//                (SatCLIP's harmonics_calculation: closed-form; our own sh_siren default);
//   analytic     SatCLIP's released models: the same without the Condon-Shortley phase (sign
//                (-1)^m on every m != 0), and pi N(l,0) P_l on m = 0 (its generator's (2l+1)/4*pi).
// Both come from one stable recurrence in float64, exact to ~1e-15 at every degree. (A model with
// analytic harmonics evaluates them as SatCLIP does instead, rounding included: see
// satclip_harmonics.h.) Input [B, 2] (lat, lon) degrees (any dtype; float64 keeps the caller's
// precision); output float64 [B, L^2].
torch::Tensor spherical_harmonics(const torch::Tensor& lat_lon, int64_t L,
                                  Harmonics convention = Harmonics::kClosedForm);

struct SirenLayerImpl : torch::nn::Module {
  SirenLayerImpl(int64_t in, int64_t out, double w0, bool first, double dropout);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear linear{nullptr};
  torch::nn::Dropout dropout{nullptr};
  double w0;
};
TORCH_MODULE(SirenLayer);

struct SirenImpl : torch::nn::Module {
  // `layers` sine layers (the first with w0 = 30, the rest w0 = 1), then a linear layer.
  SirenImpl(int64_t in, int64_t hidden, int64_t out, int64_t layers, double dropout);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::ModuleList layers{nullptr};
  torch::nn::Linear last_layer{nullptr};
};
TORCH_MODULE(Siren);


}  // namespace satclip::core
