#include "core/model/satclip.h"

#include "core/base/error.h"

namespace satclip::core {
namespace {

torch::nn::AnyModule make_head(const ModelConfig& m, int64_t in) {
  if (m.projection == Projection::kLinear) return torch::nn::AnyModule(LinearHead(in, m.embed_dim));
  return torch::nn::AnyModule(ProjectHead(in, m.embed_dim, m.dropout));
}

// SatCLIP's heads: the image encoder's Linear to embed_dim (its fc/head); the location encoder
// already ends in embed_dim.
torch::nn::AnyModule make_location_head(const ModelConfig& m, int64_t in) {
  if (m.projection == Projection::kSatclip) return torch::nn::AnyModule(torch::nn::Identity());
  return make_head(m, in);
}

torch::nn::AnyModule make_image_head(const ModelConfig& m, int64_t in) {
  if (m.projection == Projection::kSatclip) return torch::nn::AnyModule(LinearHead(in, m.embed_dim));
  return make_head(m, in);
}

}  // namespace

ImageEncoderImpl::ImageEncoderImpl(ImageEncoderKind kind, int64_t in_bands) {
  if (kind == ImageEncoderKind::kVitS16) {
    vit = register_module("visual", VisionTransformer(in_bands));
  } else {
    visual = register_module("visual", ResNet(kind == ImageEncoderKind::kResnet50 ? 50 : 18, in_bands));
  }
}

LocationEncoderImpl::LocationEncoderImpl(const ModelConfig& m) {
  if (m.location_encoder == LocationEncoderKind::kGeoclip) {
    encoder = register_module("encoder", GeoClipLocationEncoder(m.geoclip_sigmas, m.train_rff));
  } else {  // sh_siren
    sh_degree = m.sh_degree;
    harmonics = m.harmonics;
    out_features_ = m.projection == Projection::kSatclip ? m.embed_dim : m.siren_hidden;
    nnet = register_module("nnet", Siren(m.sh_degree * m.sh_degree, m.siren_hidden, out_features_,
                                         m.siren_layers, m.dropout));
    if (harmonics == Harmonics::kAnalytic) {
      analytic_marker = register_buffer("analytic_harmonics", torch::ones({}));
      analytic = std::make_shared<SatclipAnalyticHarmonics>(m.sh_degree);
    }
  }
  SATCLIP_CHECK(m.projection != Projection::kSatclip || m.location_encoder == LocationEncoderKind::kShSiren,
                "model.projection: satclip needs model.location_encoder: sh_siren (SatCLIP's SIREN ends in "
                "embed_dim; GeoCLIP's encoder ends in 512)",
                "use model.projection: linear or project with the GeoCLIP location encoder");
}

torch::Tensor LocationEncoderImpl::forward(const torch::Tensor& lat_lon) {
  if (encoder) return encoder->forward(lat_lon);
  // Spherical harmonics in float64 (closed_form: an exact recurrence; analytic: SatCLIP's own
  // arithmetic), then the SIREN's dtype (float64 for inference, as SatCLIP runs it:
  // load_for_inference converts the SIREN).
  const auto features = analytic ? (*analytic)(lat_lon) : spherical_harmonics(lat_lon, sh_degree, harmonics);
  return nnet->forward(features.to(nnet->last_layer->weight.scalar_type()));
}

SatClipImpl::SatClipImpl(const ModelConfig& m, const LossConfig& loss) {
  image_encoder = register_module("image_encoder", ImageEncoder(m.image_encoder, m.in_bands));
  location_encoder = register_module("location_encoder", LocationEncoder(m));
  image_projection = make_image_head(m, image_encoder->num_features());
  loc_projection = make_location_head(m, location_encoder->out_features());
  register_module("image_projection", image_projection.ptr());
  register_module("loc_projection", loc_projection.ptr());
  if (loss.kind == LossKind::kInfoNce) {
    logit_scale = register_parameter("logit_scale", torch::full({}, loss.logit_scale_init));
  }
  image_frozen = m.freeze_image_encoder;
  if (image_frozen) {
    for (auto& p : image_encoder->parameters()) p.requires_grad_(false);
  }
  train(true);
}

void SatClipImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (image_frozen) image_encoder->train(false);  // BatchNorm keeps its running statistics
}

void SatClipImpl::use_channels_last() {
  torch::NoGradGuard no_grad;
  for (auto t : image_encoder->parameters()) {
    if (t.dim() == 4) t.set_data(t.data().contiguous(torch::MemoryFormat::ChannelsLast));
  }
  channels_last = true;
}

torch::Tensor SatClipImpl::image_features(const torch::Tensor& images) {
  const auto x = channels_last ? images.contiguous(torch::MemoryFormat::ChannelsLast) : images;
  if (image_frozen) {
    // Nothing to train there: inference mode keeps no activations and skips autograd's
    // bookkeeping; the clone makes the features an ordinary tensor the projection can train on.
    torch::Tensor features;
    {
      c10::InferenceMode inference;
      features = image_encoder->forward(x);
    }
    return c10::InferenceMode::is_enabled() ? features : features.clone();
  }
  return image_encoder->forward(x);
}

torch::Tensor SatClipImpl::encode_image(const torch::Tensor& images) {
  return project_image_features(image_features(images));
}

torch::Tensor SatClipImpl::encode_location(const torch::Tensor& lat_lon) {
  auto features = location_encoder->forward(lat_lon);
  // A float64 location encoder (inference) feeds a float32 head in the head's dtype.
  const auto head = loc_projection.ptr()->parameters();
  if (!head.empty() && features.scalar_type() != head.front().scalar_type()) {
    features = features.to(head.front().scalar_type());
  }
  return loc_projection.forward(features);
}

Embeddings SatClipImpl::forward(const torch::Tensor& images, const torch::Tensor& lat_lon) {
  return {encode_image(images), encode_location(lat_lon)};
}

}  // namespace satclip::core
