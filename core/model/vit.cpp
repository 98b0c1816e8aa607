#include "core/model/vit.h"

#include <cmath>

#include "core/base/error.h"

namespace satclip::core {
namespace {

namespace nn = torch::nn;

nn::LayerNorm layer_norm(int64_t width) {
  return nn::LayerNorm(nn::LayerNormOptions({width}).eps(1e-6));  // timm's ViT uses eps 1e-6
}

// A Module holding one submodule under a dotted prefix ("patch_embed" -> "proj").
struct PatchEmbedImpl : nn::Module {
  explicit PatchEmbedImpl(nn::Conv2d conv) { proj = register_module("proj", std::move(conv)); }
  nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

// timm's attn (qkv, proj) and mlp (fc1, fc2): two Linear layers under their names.
struct LinearPairImpl : nn::Module {
  LinearPairImpl(const std::string& first, nn::Linear a, const std::string& second, nn::Linear b) {
    register_module(first, std::move(a));
    register_module(second, std::move(b));
  }
};
TORCH_MODULE(LinearPair);

}  // namespace

VitBlockImpl::VitBlockImpl(int64_t width, int64_t heads_, int64_t mlp_width) : heads(heads_) {
  norm1 = register_module("norm1", layer_norm(width));
  qkv = nn::Linear(width, 3 * width);
  proj = nn::Linear(width, width);
  register_module("attn", LinearPair("qkv", qkv, "proj", proj));
  norm2 = register_module("norm2", layer_norm(width));
  fc1 = nn::Linear(width, mlp_width);
  fc2 = nn::Linear(mlp_width, width);
  register_module("mlp", LinearPair("fc1", fc1, "fc2", fc2));
}

torch::Tensor VitBlockImpl::forward(torch::Tensor x) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
  // qkv -> [3, B, heads, N, head_dim]; softmax(q k^T / sqrt(head_dim)) v, heads concatenated.
  const auto parts = qkv(norm1(x)).reshape({b, n, 3, heads, c / heads}).permute({2, 0, 3, 1, 4});
  auto attended = at::scaled_dot_product_attention(parts[0], parts[1], parts[2]);
  x = x + proj(attended.transpose(1, 2).reshape({b, n, c}));
  return x + fc2(torch::gelu(fc1(norm2(x))));
}

VisionTransformerImpl::VisionTransformerImpl(int64_t in_bands) {
  patch_proj = nn::Conv2d(nn::Conv2dOptions(in_bands, kWidth, kPatch).stride(kPatch));
  register_module("patch_embed", PatchEmbed(patch_proj));
  const int64_t tokens = (kImageSize / kPatch) * (kImageSize / kPatch) + 1;
  // timm's initialisation: truncated normals of std 0.02 (pos_embed) and 1e-6 (cls_token).
  cls_token = register_parameter("cls_token", torch::randn({1, 1, kWidth}) * 1e-6);
  pos_embed = register_parameter("pos_embed", (torch::randn({1, tokens, kWidth}) * 0.02).clamp(-0.04, 0.04));
  blocks = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < kDepth; ++i) blocks->push_back(VitBlock(kWidth, kHeads, 4 * kWidth));
  norm = register_module("norm", layer_norm(kWidth));
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& x) {
  SATCLIP_CHECK(x.dim() == 4 && x.size(2) == kImageSize && x.size(3) == kImageSize,
                cat("the ViT-S/16 image encoder takes ", kImageSize, " x ", kImageSize, " images, got ",
                    x.dim() == 4 ? cat(x.size(2), " x ", x.size(3)) : cat(x.dim(), " dimensions")),
                "set data.image_size: 224 (its 197 position embeddings fit no other size)");
  auto t = patch_proj(x).flatten(2).transpose(1, 2);  // [B, 196, width]
  t = torch::cat({cls_token.expand({t.size(0), -1, -1}), t}, 1) + pos_embed;
  for (auto& block : *blocks) t = block->as<VitBlock>()->forward(t);
  return norm(t).select(1, 0);  // the class token
}

}  // namespace satclip::core
