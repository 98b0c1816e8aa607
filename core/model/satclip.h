// SatClip: image encoder + location encoder + two projection heads (+ a logit scale for InfoNCE).
//
// Top-level names match the seed's state dict: image_encoder.visual.*, location_encoder.encoder.*
// (GeoCLIP) or location_encoder.nnet.* (spherical harmonics + SIREN), image_projection.*,
// loc_projection.*, and logit_scale when the loss is info_nce.
#pragma once

#include <torch/torch.h>

#include "core/model/location_encoders.h"
#include "core/model/projection.h"
#include "core/model/resnet.h"
#include "core/model/satclip_harmonics.h"
#include "core/model/vit.h"
#include "core/recipe/recipe.h"

namespace satclip::core {

// The seed's `Resnet` wrapper: holds the backbone as `visual` (a ResNet, or the ViT-S/16).
struct ImageEncoderImpl : torch::nn::Module {
  ImageEncoderImpl(ImageEncoderKind kind, int64_t in_bands);
  torch::Tensor forward(const torch::Tensor& x) { return visual ? visual->forward(x) : vit->forward(x); }
  int64_t num_features() const { return visual ? visual->num_features() : vit->num_features(); }
  ResNet visual{nullptr};            // resnet18, resnet50
  VisionTransformer vit{nullptr};    // vit_s16 (registered as `visual` too)
};
TORCH_MODULE(ImageEncoder);

// The seed's `LE` wrapper: GeoCLIP as `encoder`, or the SH+SIREN encoder's `nnet`.
struct LocationEncoderImpl : torch::nn::Module {
  explicit LocationEncoderImpl(const ModelConfig& m);
  torch::Tensor forward(const torch::Tensor& lat_lon);
  int64_t out_features() const { return out_features_; }
  GeoClipLocationEncoder encoder{nullptr};
  Siren nnet{nullptr};
  int64_t sh_degree = 0;
  Harmonics harmonics = Harmonics::kClosedForm;
  // Analytic harmonics only: a 0-dim buffer `analytic_harmonics` (= 1) in the state dict, so a
  // bare model.pt says which function its SIREN was trained on (infer_architecture reads it).
  torch::Tensor analytic_marker;
  // Analytic harmonics are evaluated as SatCLIP's released models evaluate them.
  std::shared_ptr<SatclipAnalyticHarmonics> analytic;

 private:
  int64_t out_features_ = 512;
};
TORCH_MODULE(LocationEncoder);

struct Embeddings {
  torch::Tensor image;     // [B, D]
  torch::Tensor location;  // [B, D]
};

struct SatClipImpl : torch::nn::Module {
  SatClipImpl(const ModelConfig& model, const LossConfig& loss);

  // images [B, in_bands, S, S] float; lat_lon [B, 2] degrees.
  Embeddings forward(const torch::Tensor& images, const torch::Tensor& lat_lon);
  torch::Tensor encode_image(const torch::Tensor& images);
  // The image encoder's output (no grad when frozen), and the image projection of such
  // features: encode_image(x) == project_image_features(image_features(x)). The feature cache
  // stores image_features of a frozen encoder.
  torch::Tensor image_features(const torch::Tensor& images);
  torch::Tensor project_image_features(const torch::Tensor& features) { return image_projection.forward(features); }
  // forward() with the image encoder's output given (the feature cache).
  Embeddings forward_features(const torch::Tensor& features, const torch::Tensor& lat_lon) {
    return {project_image_features(features), encode_location(lat_lon)};
  }
  torch::Tensor encode_location(const torch::Tensor& lat_lon);

  // Sets train/eval mode; a frozen image encoder always stays in eval mode.
  void train(bool on = true) override;
  // Channels-last (NHWC) memory for the image encoder's 4-D weights and for the images it gets:
  // the layout cuDNN's fastest bf16/TF32 convolutions use. Values, gradients' values and the
  // state-dict layout (written contiguous) are unchanged. Call after moving the model.
  void use_channels_last();

  ImageEncoder image_encoder{nullptr};
  LocationEncoder location_encoder{nullptr};
  torch::nn::AnyModule image_projection, loc_projection;
  torch::Tensor logit_scale;  // defined for info_nce
  bool image_frozen = false;
  bool channels_last = false;
};
TORCH_MODULE(SatClip);

}  // namespace satclip::core
