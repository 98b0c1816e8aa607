// Helpers shared by the model tests: fixture loading and the reference weight formula.
#pragma once

#include <cmath>
#include <map>
#include <string>

#include <torch/torch.h>

#include "core/model/state_dict.h"
#include "core/recipe/recipe.h"

namespace satclip::testing {

// A small model whose every part trains and whose forward is deterministic: the image encoder
// unfrozen, 64-d embeddings, no dropout. Comparisons of one step against another use it.
inline core::ModelConfig small_trainable_model() {
  core::ModelConfig m;
  m.freeze_image_encoder = false;
  m.embed_dim = 64;
  m.dropout = 0.0;
  return m;
}

inline std::map<std::string, torch::Tensor> load_fixture(const std::string& name) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [k, v] : core::read_state_dict(std::string(SATCLIP_SOURCE_DIR) + "/tests/reference/fixtures/" + name)) {
    out[k] = v;
  }
  return out;
}

// The same deterministic weights as tests/reference/seed_model.py: fill_reference_weights.
inline void fill_reference_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto fill = [](const std::string& name, torch::Tensor t) {
    if (name.size() >= 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0) return;
    int64_t h = 0;
    for (size_t i = 0; i < name.size(); ++i) h += int64_t(i + 1) * static_cast<unsigned char>(name[i]);
    h %= 997;
    auto x = torch::remainder(torch::arange(t.numel(), torch::kLong) * 1103515245 + (h * 12345 + 12345),
                              int64_t{1} << 32);
    x = torch::bitwise_xor(x, torch::floor_divide(x, 65536));
    x = torch::remainder(x * 73244475, int64_t{1} << 32);
    x = torch::bitwise_xor(x, torch::floor_divide(x, 65536));
    auto base = (x.to(torch::kDouble) / double(int64_t{1} << 31) - 1).reshape(t.sizes());
    auto ends = [&](const char* s) {
      const std::string e = s;
      return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
    };
    torch::Tensor v;
    if (t.dim() >= 2) {
      v = base * std::sqrt(3.0 / (double(t.numel()) / double(t.size(0))));
    } else if (ends("running_var")) {
      v = 1 + 0.5 * base.abs();
    } else if (ends("running_mean")) {
      v = 0.1 * base;
    } else if (ends("bias")) {
      v = 0.05 * base;
    } else {
      v = 1 + 0.1 * base;
    }
    if (name.find("layer_norm.") != std::string::npos) v = 0.03 * v;
    t.copy_(v.to(t.scalar_type()));
  };
  for (auto& p : module.named_parameters(true)) fill(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) fill(b.key(), b.value());
}

}  // namespace satclip::testing
