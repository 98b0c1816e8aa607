#include "core/model/projection.h"

namespace satclip::core {

ProjectHeadImpl::ProjectHeadImpl(int64_t in, int64_t dim, double dropout) {
  projection_layer = register_module("projection_layer", torch::nn::Linear(in, dim));
  fc_layer = register_module("fc_layer", torch::nn::Linear(dim, dim));
  layer_norm = register_module("layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  dropout_layer = register_module("dropout_layer", torch::nn::Dropout(dropout));
}

torch::Tensor ProjectHeadImpl::forward(const torch::Tensor& x) {
  const auto p = projection_layer(x);
  const auto h = dropout_layer(fc_layer(torch::gelu(p)));  // exact (erf) GELU, as the seed
  return layer_norm(h + p);
}

LinearHeadImpl::LinearHeadImpl(int64_t in, int64_t dim) {
  linear = register_module("linear", torch::nn::Linear(in, dim));
}

}  // namespace satclip::core
