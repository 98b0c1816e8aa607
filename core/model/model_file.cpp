#include "core/model/model_file.h"

#include <cmath>
#include <map>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/text.h"

namespace satclip::core {
namespace {

constexpr const char* kLightningHint =
    "satclip-ddp reads SatCLIP's released checkpoints: le_type sphericalharmonics, pe_type siren, "
    "harmonics_calculation analytic or closed-form, vision_layers moco_resnet18, moco_resnet50 or moco_vit16";

// Lightning's hyper_parameters dict, read by key; errors name the file and the key.
class HyperParameters {
 public:
  HyperParameters(const std::vector<std::pair<std::string, PyValue>>& values, std::string path)
      : values_(values.begin(), values.end()), path_(std::move(path)) {}

  const PyValue& get(const std::string& key) const {
    auto it = values_.find(key);
    SATCLIP_CHECK(it != values_.end(), cat(path_, ": hyper_parameters has no '", key, "'"),
                  "the file is not a SatCLIP checkpoint, or a damaged one");
    return it->second;
  }
  std::string text(const std::string& key) const {
    const auto& v = get(key);
    SATCLIP_CHECK(v.kind == PyValue::Kind::kString, cat(path_, ": hyper_parameters.", key, " = ", v.repr(), ": expected a string"),
                  kLightningHint);
    return v.s;
  }
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    const auto& v = get(key);
    SATCLIP_CHECK(v.kind == PyValue::Kind::kInt && v.i >= lo && v.i <= hi,
                  cat(path_, ": hyper_parameters.", key, " = ", v.repr(), ": expected an integer in ", lo, " .. ", hi),
                  kLightningHint);
    return v.i;
  }
  [[noreturn]] void refuse(const std::string& key, const std::string& supported) const {
    SATCLIP_FAIL(cat(path_, ": hyper_parameters.", key, " = ", get(key).repr(), " is not implemented (satclip-ddp reads ",
                     supported, ")"),
                 kLightningHint);
  }

 private:
  std::map<std::string, PyValue> values_;
  std::string path_;
};

std::pair<ModelConfig, LossConfig> released_architecture(const HyperParameters& hp) {
  ModelConfig m;
  if (hp.text("le_type") != "sphericalharmonics") hp.refuse("le_type", "'sphericalharmonics'");
  if (hp.text("pe_type") != "siren") hp.refuse("pe_type", "'siren'");
  const std::string harmonics = hp.text("harmonics_calculation");
  if (harmonics == "analytic") {
    m.harmonics = Harmonics::kAnalytic;
  } else if (harmonics == "closed-form") {
    m.harmonics = Harmonics::kClosedForm;
  } else {
    hp.refuse("harmonics_calculation", "'analytic' and 'closed-form'");
  }
  const auto& vision = hp.get("vision_layers");
  const std::string vision_name = vision.kind == PyValue::Kind::kString ? vision.s : "";
  if (vision_name == "moco_resnet18") {
    m.image_encoder = ImageEncoderKind::kResnet18;
  } else if (vision_name == "moco_resnet50") {
    m.image_encoder = ImageEncoderKind::kResnet50;
  } else if (vision_name == "moco_vit16") {
    m.image_encoder = ImageEncoderKind::kVitS16;
  } else {
    hp.refuse("vision_layers", "'moco_resnet18', 'moco_resnet50' and 'moco_vit16'");
  }
  m.in_bands = 13;  // the moco backbones' in_chans (torchgeo's SENTINEL2_ALL_MOCO), whatever in_channels says
  m.location_encoder = LocationEncoderKind::kShSiren;
  m.sh_degree = hp.integer("legendre_polys", 1, 100);
  m.siren_hidden = hp.integer("capacity", 8, 8192);
  m.siren_layers = hp.integer("num_hidden_layers", 1, 16);
  m.embed_dim = hp.integer("embed_dim", 8, 8192);
  m.projection = Projection::kSatclip;
  m.dropout = 0.5;  // SatCLIP's sine layers: F.dropout's default p in training mode
  m.freeze_image_encoder = true;
  LossConfig l;
  l.kind = LossKind::kInfoNce;
  return {m, l};
}

// SatCLIP's names -> ours. `twin` is set for the second copy of the location network
// (model.nnet.*, the same tensors as model.location.nnet.*).
std::string our_name(const std::string& key, bool& twin) {
  twin = false;
  if (starts_with(key, "model.nnet.")) {
    twin = true;
    return key;
  }
  for (const char* head : {"model.visual.fc.", "model.visual.head."}) {
    if (starts_with(key, head)) return "image_projection.linear." + key.substr(std::string(head).size());
  }
  if (starts_with(key, "model.visual.")) return "image_encoder.visual." + key.substr(13);
  static const std::string kLayers = "model.location.nnet.layers.";
  if (starts_with(key, kLayers)) {  // layers.{i}.weight -> layers.{i}.linear.weight
    const std::string rest = key.substr(kLayers.size());
    const auto dot = rest.find('.');
    if (dot != std::string::npos) {
      return "location_encoder.nnet.layers." + rest.substr(0, dot) + ".linear" + rest.substr(dot);
    }
  }
  if (starts_with(key, "model.location.nnet.")) return "location_encoder." + key.substr(15);
  if (key == "model.logit_scale") return "logit_scale";
  return key;  // unknown: reported by the strict load
}

ModelFile from_lightning(const std::vector<TorchFileEntry>& entries, const std::string& path) {
  const TorchFileEntry* state = nullptr;
  const TorchFileEntry* hyper = nullptr;
  for (const auto& e : entries) {
    if (e.key == "state_dict" && e.is_dict) state = &e;
    if (e.key == "hyper_parameters" && e.is_dict) hyper = &e;
  }
  ModelFile f;
  f.released = true;
  std::tie(f.model, f.loss) = released_architecture(HyperParameters(hyper->values, path));
  std::map<std::string, torch::Tensor> location;
  std::vector<std::pair<std::string, torch::Tensor>> twins;
  for (const auto& [key, tensor] : state->dict) {
    bool twin = false;
    const std::string name = our_name(key, twin);
    if (twin) {
      twins.emplace_back(key, tensor);
      continue;
    }
    if (starts_with(key, "model.location.nnet.")) location[key.substr(15)] = tensor;
    f.state.emplace_back(name, tensor);
  }
  // SatCLIP holds its location network twice (model.nnet is model.location.nnet); both loaders
  // read either copy, so the copies must agree.
  for (const auto& [key, tensor] : twins) {
    auto it = location.find(key.substr(6));
    SATCLIP_CHECK(it != location.end() && it->second.sizes() == tensor.sizes() && torch::equal(it->second, tensor),
                  cat(path, ": state_dict entry ", key, " differs from model.location.", key.substr(6),
                      it == location.end() ? " (absent)" : ""),
                  "the two copies of SatCLIP's location network must be the same tensors; the file is damaged");
  }
  // Our analytic-convention models carry a marker buffer (satclip.h); SatCLIP's files are analytic
  // by their hyper_parameters.
  if (f.model.harmonics == Harmonics::kAnalytic) f.state.emplace_back("location_encoder.analytic_harmonics", torch::ones({}));
  const auto& m = f.model;
  f.description = cat("SatCLIP Lightning checkpoint (", option_name(m.image_encoder), ", spherical harmonics L = ",
                      m.sh_degree, " ", option_name(m.harmonics), ", SIREN ", m.siren_layers, " x ", m.siren_hidden,
                      ", embed_dim ", m.embed_dim, ")");
  return f;
}

bool is_lightning(const std::vector<TorchFileEntry>& entries) {
  bool state = false, hyper = false;
  for (const auto& e : entries) {
    state = state || (e.key == "state_dict" && e.is_dict);
    hyper = hyper || (e.key == "hyper_parameters" && e.is_dict);
  }
  return state && hyper;
}

}  // namespace

ModelFile read_model_file(const std::string& path, const std::string& hint) {
  const RegularFile file(path, "the weights file", hint);
  const auto entries = read_torch_file(file);
  if (is_lightning(entries)) return from_lightning(entries, path);
  ModelFile f;
  f.state = state_dict_of(entries, path);
  f.description = "state dict";
  return f;
}

std::vector<std::string> architecture_differences(const ModelFile& file, const ModelConfig& r) {
  std::vector<std::string> out;
  const ModelConfig& m = file.model;
  auto differ = [&](const char* key, const std::string& file_value, const std::string& recipe_value) {
    if (file_value != recipe_value) out.push_back(cat("model.", key, ": the file has ", file_value, ", the recipe ", recipe_value));
  };
  differ("image_encoder", option_string(m.image_encoder), option_string(r.image_encoder));
  differ("in_bands", std::to_string(m.in_bands), std::to_string(r.in_bands));
  differ("location_encoder", option_string(m.location_encoder), option_string(r.location_encoder));
  differ("sh_degree", std::to_string(m.sh_degree), std::to_string(r.sh_degree));
  differ("harmonics", option_string(m.harmonics), option_string(r.harmonics));
  differ("siren_hidden", std::to_string(m.siren_hidden), std::to_string(r.siren_hidden));
  differ("siren_layers", std::to_string(m.siren_layers), std::to_string(r.siren_layers));
  differ("projection", option_string(m.projection), option_string(r.projection));
  differ("embed_dim", std::to_string(m.embed_dim), std::to_string(r.embed_dim));
  return out;
}

}  // namespace satclip::core
