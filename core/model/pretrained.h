// Loading the pretrained weights a recipe names (model.weights, model.image_weights,
// model.location_weights) into a SatClip, by parameter name.
#pragma once

#include <string>
#include <vector>

#include "core/model/satclip.h"
#include "core/recipe/recipe.h"

namespace satclip::core {

// Loads, in this order: the whole-model state dict (e.g. the seed's satclip.pt), a timm/torchgeo
// ResNet state dict into image_encoder.visual (fc.* ignored), GeoCLIP's location encoder weights
// into location_encoder.encoder. Returns one report line per file. With model.strict_weights any
// missing, unexpected or mis-shaped tensor is an error naming the file and the tensors.
std::vector<std::string> load_pretrained(SatClip& model, const ModelConfig& config);

}  // namespace satclip::core
