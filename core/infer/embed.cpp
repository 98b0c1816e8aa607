#include "core/infer/embed.h"

#include <cmath>
#include <map>
#include <set>

#include <torch/utils.h>

#include "core/base/error.h"
#include "core/base/text.h"
#include "core/model/model_file.h"
#include "core/train/checkpoint/checkpoint_dir.h"

namespace satclip::core {

std::pair<ModelConfig, LossConfig> infer_architecture(const StateDict& state, const std::string& origin) {
  std::map<std::string, torch::Tensor> t(state.begin(), state.end());
  auto shape_of = [&](const std::string& name, int64_t dims) {
    auto it = t.find(name);
    SATCLIP_CHECK(it != t.end() && it->second.dim() == dims,
                  cat(origin, ": expected a tensor '", name, "' with ", dims, " dimensions",
                      it == t.end() ? std::string(", found none") : cat(", found shape ", it->second.sizes())),
                  "this does not look like a SatCLIP state dict; pass --recipe with the model it was trained with");
    return it->second.sizes().vec();
  };
  ModelConfig m;
  LossConfig l;
  if (t.count("image_encoder.visual.patch_embed.proj.weight")) {
    m.image_encoder = ImageEncoderKind::kVitS16;
    m.in_bands = shape_of("image_encoder.visual.patch_embed.proj.weight", 4)[1];
  } else {
    m.in_bands = shape_of("image_encoder.visual.conv1.weight", 4)[1];
    m.image_encoder = t.count("image_encoder.visual.layer1.0.conv3.weight") ? ImageEncoderKind::kResnet50
                                                                            : ImageEncoderKind::kResnet18;
  }
  std::set<int64_t> capsules, siren_layers;
  for (const auto& [name, _] : state) {
    static const std::string kGeo = "location_encoder.encoder.LocEnc", kSiren = "location_encoder.nnet.layers.";
    if (starts_with(name, kGeo)) capsules.insert(std::atoll(name.c_str() + kGeo.size()));
    if (starts_with(name, kSiren)) siren_layers.insert(std::atoll(name.c_str() + kSiren.size()));
  }
  SATCLIP_CHECK(capsules.empty() != siren_layers.empty(),
                cat(origin, ": found ", capsules.size(), " GeoCLIP capsule(s) and ", siren_layers.size(),
                    " SIREN layer(s) under location_encoder"),
                "the location encoder must be GeoCLIP (location_encoder.encoder.LocEnc*) or SH+SIREN "
                "(location_encoder.nnet.*); pass --recipe for anything else");
  if (!capsules.empty()) {
    m.location_encoder = LocationEncoderKind::kGeoclip;
    SATCLIP_CHECK(*capsules.rbegin() == int64_t(capsules.size()) - 1 && capsules.size() <= 16,
                  cat(origin, ": GeoCLIP capsules are not numbered 0 .. ", capsules.size() - 1), "pass --recipe");
    m.geoclip_sigmas.clear();
    for (size_t k = 0; k < capsules.size(); ++k) m.geoclip_sigmas.push_back(std::pow(16.0, double(k)));  // b is loaded
  } else {
    m.location_encoder = LocationEncoderKind::kShSiren;
    const auto first = shape_of("location_encoder.nnet.layers.0.linear.weight", 2);
    const auto degree = static_cast<int64_t>(std::llround(std::sqrt(double(first[1]))));
    SATCLIP_CHECK(degree * degree == first[1] && degree >= 1,
                  cat(origin, ": the first SIREN layer takes ", first[1], " inputs, not a square number of harmonics"),
                  "pass --recipe");
    m.sh_degree = degree;
    m.siren_hidden = first[0];
    m.siren_layers = static_cast<int64_t>(siren_layers.size());
  }
  if (t.count("image_projection.projection_layer.weight")) {
    m.projection = Projection::kProject;
    m.embed_dim = shape_of("image_projection.projection_layer.weight", 2)[0];
  } else {
    // A Linear image head; a location encoder without a head is SatCLIP's shape.
    bool location_head = false;
    for (const auto& [name, _] : state) location_head = location_head || starts_with(name, "loc_projection.");
    m.projection = location_head ? Projection::kLinear : Projection::kSatclip;
    m.embed_dim = shape_of("image_projection.linear.weight", 2)[0];
    if (!location_head && m.location_encoder == LocationEncoderKind::kShSiren) {
      m.siren_hidden = shape_of("location_encoder.nnet.last_layer.weight", 2)[1];
    }
  }
  if (t.count("location_encoder.analytic_harmonics")) m.harmonics = Harmonics::kAnalytic;
  l.kind = t.count("logit_scale") ? LossKind::kInfoNce : LossKind::kSoftClip;
  m.freeze_image_encoder = true;
  m.dropout = 0.0;
  return {m, l};
}

SatClip load_for_inference(const std::string& path, const Recipe* recipe, const torch::Device& device,
                           ModelConfig* config) {
  const ModelFile file = read_model_file(path, kWeightsHint);
  ModelConfig m;
  LossConfig l;
  if (file.released) {  // the file says what it is; a recipe gives only the data transforms
    std::tie(m, l) = std::make_pair(file.model, file.loss);
  } else if (recipe) {
    std::tie(m, l) = std::make_pair(recipe->model, recipe->loss);
  } else {
    std::tie(m, l) = infer_architecture(file.state, path);
  }
  m.weights.clear();
  m.image_weights.clear();
  m.location_weights.clear();
  SatClip model(m, l);
  // SatCLIP runs the location network in float64 (harmonics and SIREN); so does inference here.
  // Converted before loading, so a released file's float64 weights are kept as they are.
  if (model->location_encoder->nnet) model->location_encoder->nnet->to(torch::kDouble);
  try {
    load_state_dict(*model, file.state, {"", {}, {}, /*strict=*/true}, path);
  } catch (const Error& e) {
    if (!file.released) throw;
    SATCLIP_FAIL(e.message(), "the tensors do not fit the file's hyper_parameters: the file is damaged, or not one "
                              "SatCLIP's code wrote");
  }
  if (config) *config = m;
  model->to(device);
  model->train(false);
  return model;
}

SatClip untrained_like(const ModelConfig& config, const torch::Device& device, uint64_t seed) {
  torch::manual_seed(seed);
  SatClip model(config, LossConfig{});
  if (model->location_encoder->nnet) model->location_encoder->nnet->to(torch::kDouble);
  model->to(device);
  model->train(false);
  return model;
}

torch::Tensor embed_locations(SatClip& model, const torch::Tensor& lat_lon, EmbedStage stage, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  constexpr int64_t kChunk = 4096;
  for (int64_t s = 0; s < lat_lon.size(0); s += kChunk) {
    // float64 coordinates: SatCLIP's harmonics of float32-rounded ones differ by up to 1e-3 at L = 40.
    const auto ll = lat_lon.narrow(0, s, std::min(kChunk, lat_lon.size(0) - s)).to(device, torch::kDouble);
    const auto e = stage == EmbedStage::kProjection ? model->encode_location(ll) : model->location_encoder->forward(ll);
    parts.push_back(e.to(torch::kCPU, torch::kFloat));
  }
  return parts.empty() ? torch::empty({0, 0}) : torch::cat(parts);
}

}  // namespace satclip::core
