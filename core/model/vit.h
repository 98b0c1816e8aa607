// ViT-S/16 image encoder for multispectral input, in timm's vit_small_patch16_224 layout (the
// backbone of SatCLIP's released ViT16 models): 16 x 16 patches of a 224 x 224 image embedded to
// width 384, a class token, learned position embeddings (197), 12 pre-norm blocks of 6-head
// self-attention and a GELU MLP (x4), a final LayerNorm; the class token's output is the feature.
//
// Names equal timm's (cls_token, pos_embed, patch_embed.proj, blocks.{i}.norm1 / attn.qkv /
// attn.proj / norm2 / mlp.fc1 / mlp.fc2, norm), so a timm or torchgeo state dict loads by name
// (its head.* is SatCLIP's image head: see model_file.h).
#pragma once

#include <torch/torch.h>

namespace satclip::core {

struct VitBlockImpl : torch::nn::Module {
  VitBlockImpl(int64_t width, int64_t heads, int64_t mlp_width);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  int64_t heads;
};
TORCH_MODULE(VitBlock);

struct VisionTransformerImpl : torch::nn::Module {
  static constexpr int64_t kImageSize = 224, kPatch = 16, kWidth = 384, kDepth = 12, kHeads = 6;
  explicit VisionTransformerImpl(int64_t in_bands);
  // [B, in_bands, 224, 224] -> [B, 384]; other sizes are an error naming the expected one.
  torch::Tensor forward(const torch::Tensor& x);
  int64_t num_features() const { return kWidth; }

  torch::nn::Conv2d patch_proj{nullptr};  // patch_embed.proj
  torch::Tensor cls_token, pos_embed;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(VisionTransformer);

}  // namespace satclip::core
