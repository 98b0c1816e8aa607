// Projection heads from an encoder's features to the shared embedding space.
//   ProjectHead (the seed's `Project`): p = W_proj x + b; h = Dropout(W_fc GELU(p) + b_fc);
//     out = LayerNorm(h + p). Names: projection_layer, fc_layer, layer_norm.
//   LinearHead (SatCLIP): one Linear. Name: linear.
#pragma once

#include <torch/torch.h>

namespace satclip::core {

struct ProjectHeadImpl : torch::nn::Module {
  ProjectHeadImpl(int64_t in, int64_t dim, double dropout);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear projection_layer{nullptr}, fc_layer{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  torch::nn::Dropout dropout_layer{nullptr};
};
TORCH_MODULE(ProjectHead);

struct LinearHeadImpl : torch::nn::Module {
  LinearHeadImpl(int64_t in, int64_t dim);
  torch::Tensor forward(const torch::Tensor& x) { return linear(x); }
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(LinearHead);

}  // namespace satclip::core
