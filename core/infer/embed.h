// Embeddings for downstream use (satclip-embed): location embeddings for coordinates, image
// embeddings for packed tiles, from our checkpoints or any seed-format state dict.
//
// The architecture of a state dict is inferred from its tensor names and shapes, so the seed's
// satclip.pt needs no recipe:
//   image_encoder.visual.conv1.weight [64, bands, 7, 7]       -> model.in_bands
//   image_encoder.visual.layer1.0.conv3.*                     -> resnet50 (else resnet18)
//   image_encoder.visual.patch_embed.proj.weight [384, bands, 16, 16] -> vit_s16
//   location_encoder.analytic_harmonics                       -> model.harmonics: analytic
//   no loc_projection.* (a Linear image head)                 -> model.projection: satclip
//   location_encoder.encoder.LocEnc<k>.*                      -> geoclip with k + 1 capsules
//   location_encoder.nnet.layers.<i>.linear.weight [h, L^2]   -> sh_siren, degree L, width h
//   image_projection.projection_layer.weight [D, 512]         -> project head of dim D
//   image_projection.linear.weight [D, 512]                   -> linear head of dim D
//   logit_scale                                               -> info_nce
#pragma once

#include <string>
#include <vector>

#include "core/model/satclip.h"
#include "core/model/state_dict.h"
#include "core/recipe/recipe.h"

namespace satclip::core {

// The model and loss config that `state` was saved from; throws naming `origin` when the names do
// not look like a SatCLIP state dict or are ambiguous (then pass a recipe).
std::pair<ModelConfig, LossConfig> infer_architecture(const StateDict& state, const std::string& origin);

// Builds the model for `path` and loads it strictly, in eval mode on `device`, its sh_siren location
// network in float64. The architecture comes from a SatCLIP Lightning checkpoint's
// hyper_parameters, else from `recipe` when given, else from the state dict's names and shapes;
// `config`, when given, receives it.
SatClip load_for_inference(const std::string& path, const Recipe* recipe, const torch::Device& device,
                           ModelConfig* config = nullptr);

// The architecture of `config` freshly initialised after torch::manual_seed(seed), as load_for_inference
// leaves a model (eval mode on `device`, an sh_siren network in float64): satclip-eval's "untrained"
// baseline.
SatClip untrained_like(const ModelConfig& config, const torch::Device& device, uint64_t seed = 0);

// [N, 2] (lat, lon) degrees -> [N, D] float32 on the CPU, in chunks.
torch::Tensor embed_locations(SatClip& model, const torch::Tensor& lat_lon, EmbedStage stage, const torch::Device& device);

}  // namespace satclip::core
