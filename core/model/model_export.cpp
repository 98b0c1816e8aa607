// lightning_checkpoint (model_file.h): a model in SatCLIP's released format.
#include <cmath>

#include "core/base/error.h"
#include "core/base/text.h"
#include "core/model/model_file.h"

namespace satclip::core {
namespace {

constexpr const char* kSeedHint = "write it with --format seed (a state dict that satclip-ddp and the seed read)";

torch::Tensor f64(const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kDouble).contiguous(); }

// The location network in SatCLIP's names (no `.linear.` level), float64 as SatCLIP holds it; a
// Linear head after it is folded into its last layer: P (W x + b) + c = (P W) x + (P b + c).
std::vector<std::pair<std::string, torch::Tensor>> location_tensors(SatClip& model, const ModelConfig& config) {
  auto& siren = model->location_encoder->nnet;
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < siren->layers->size(); ++i) {
    auto layer = siren->layers[i]->as<SirenLayer>();
    out.emplace_back(cat("nnet.layers.", i, ".weight"), f64(layer->linear->weight));
    out.emplace_back(cat("nnet.layers.", i, ".bias"), f64(layer->linear->bias));
  }
  torch::Tensor w = f64(siren->last_layer->weight), b = f64(siren->last_layer->bias);
  if (config.projection == Projection::kLinear) {
    auto head = model->loc_projection.ptr()->as<LinearHead>();
    const auto p = f64(head->linear->weight), c = f64(head->linear->bias);
    w = p.matmul(w);
    b = p.matmul(b) + c;
  }
  out.emplace_back("nnet.last_layer.weight", w);
  out.emplace_back("nnet.last_layer.bias", b);
  return out;
}

PyValue hyper_parameters(const ModelConfig& c, int64_t embed_dim) {
  PyValue hp = PyValue::dict();
  hp.add("embed_dim", PyValue::integer(embed_dim));
  hp.add("image_resolution", PyValue::integer(256));
  const char* vision = c.image_encoder == ImageEncoderKind::kResnet50 ? "moco_resnet50"
                       : c.image_encoder == ImageEncoderKind::kVitS16 ? "moco_vit16"
                                                                       : "moco_resnet18";
  hp.add("vision_layers", PyValue::string(vision));
  hp.add("vision_width", PyValue::integer(768));
  hp.add("vision_patch_size", PyValue::integer(32));
  hp.add("in_channels", PyValue::integer(c.in_bands));
  hp.add("le_type", PyValue::string("sphericalharmonics"));
  hp.add("pe_type", PyValue::string("siren"));
  hp.add("frequency_num", PyValue::integer(16));
  hp.add("max_radius", PyValue::integer(260));
  hp.add("min_radius", PyValue::integer(1));
  hp.add("legendre_polys", PyValue::integer(c.sh_degree));
  hp.add("harmonics_calculation", PyValue::string(c.harmonics == Harmonics::kAnalytic ? "analytic" : "closed-form"));
  hp.add("sh_embedding_dims", PyValue::integer(32));
  hp.add("learning_rate", PyValue::real(1e-4));
  hp.add("weight_decay", PyValue::real(0.01));
  hp.add("num_hidden_layers", PyValue::integer(c.siren_layers));
  hp.add("capacity", PyValue::integer(c.siren_hidden));
  // Present in the released files; SatCLIP's load.get_satclip removes them before building.
  hp.add("eval_downstream", PyValue::boolean(false));
  hp.add("air_temp_data_path", PyValue::none());
  hp.add("election_data_path", PyValue::none());
  return hp;
}

}  // namespace

PyValue lightning_checkpoint(SatClip& model, const ModelConfig& c) {
  SATCLIP_CHECK(c.location_encoder == LocationEncoderKind::kShSiren,
                cat("SatCLIP's format holds a spherical-harmonics + SIREN location encoder; this model's is ",
                    option_name(c.location_encoder)),
                kSeedHint);
  SATCLIP_CHECK(c.in_bands == 13,
                cat("SatCLIP's image encoders take the 13 Sentinel-2 bands; this model takes ", c.in_bands), kSeedHint);
  SATCLIP_CHECK(c.projection != Projection::kProject,
                "the seed's Project heads (Linear, GELU, LayerNorm) have no place in SatCLIP's format, whose image "
                "head is one Linear and whose location encoder has none",
                kSeedHint);
  torch::NoGradGuard no_grad;
  PyValue state = PyValue::dict();
  auto& encoder = *model->image_encoder;
  const torch::nn::Module& backbone = encoder.visual ? static_cast<torch::nn::Module&>(*encoder.visual) : *encoder.vit;
  for (const auto& [name, t] : module_state(backbone)) {
    state.add("model.visual." + name, PyValue::of(t.detach().cpu().contiguous()));
  }
  // The image head is timm's classifier: fc (ResNet) or head (ViT).
  const std::string head = c.image_encoder == ImageEncoderKind::kVitS16 ? "model.visual.head." : "model.visual.fc.";
  auto image_head = model->image_projection.ptr()->as<LinearHead>();
  state.add(head + "weight", PyValue::of(image_head->linear->weight.detach().cpu().contiguous()));
  state.add(head + "bias", PyValue::of(image_head->linear->bias.detach().cpu().contiguous()));
  const auto location = location_tensors(model, c);
  // SatCLIP's module holds the network as model.nnet and again as model.location.nnet: one storage.
  for (const auto& [name, t] : location) state.add("model." + name, PyValue::of(t));
  for (const auto& [name, t] : location) state.add("model.location." + name, PyValue::of(t));
  const auto scale = model->logit_scale.defined() ? model->logit_scale.detach().cpu().to(torch::kFloat)
                                                  : torch::full({}, std::log(1 / 0.07), torch::kFloat);
  state.add("model.logit_scale", PyValue::of(scale.contiguous()));

  PyValue root = PyValue::dict();
  root.add("epoch", PyValue::integer(0));
  root.add("global_step", PyValue::integer(0));
  root.add("pytorch-lightning_version", PyValue::string("2.6.6"));
  root.add("state_dict", std::move(state));
  root.add("loops", PyValue::dict());
  root.add("callbacks", PyValue::dict());
  root.add("optimizer_states", PyValue::list());
  root.add("lr_schedulers", PyValue::list());
  root.add("hparams_name", PyValue::string("kwargs"));
  root.add("hyper_parameters", hyper_parameters(c, location.back().second.size(0)));
  return root;
}

}  // namespace satclip::core
