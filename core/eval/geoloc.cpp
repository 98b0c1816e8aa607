#include "core/eval/geoloc.h"

#include <torch/nn/functional/normalization.h>

#include "core/infer/data_options.h"
#include "core/infer/embed.h"
#include "core/infer/tile_encoding.h"

namespace satclip::core {

RetrievalMetrics geolocalise(SatClip& model, std::shared_ptr<const data::ShardedDataset> dataset,
                             const data::TransformOptions& transforms, const torch::Device& device,
                             const torch::Tensor& gallery_latlon, bool cosine) {
  torch::NoGradGuard no_grad;
  model->train(false);
  const int64_t n = dataset->size();
  TileEncoding enc;
  enc.indices.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) enc.indices[size_t(i)] = i;
  enc.dataset = dataset;
  enc.transforms = transforms;
  enc.loader = loader_options(DataConfig{}, enc.chunk, device.is_cuda());
  enc.device = device;
  const auto features = encode_tiles(model, enc, /*rank=*/0, /*world=*/1);
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < n; s += enc.chunk) {
    const auto f = features.eval.narrow(0, s, std::min(enc.chunk, n - s)).to(device);
    parts.push_back(model->project_image_features(f).to(torch::kCPU, torch::kFloat));
  }
  auto queries = torch::cat(parts);
  auto query_ll = torch::empty({n, 2}, torch::kDouble);
  double* q = query_ll.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) q[2 * i] = dataset->lat(i), q[2 * i + 1] = dataset->lon(i);
  const bool own = !gallery_latlon.defined();
  const auto gallery_ll = own ? query_ll : gallery_latlon.to(torch::kDouble);
  auto gallery = embed_locations(model, gallery_ll, EmbedStage::kProjection, device);
  namespace F = torch::nn::functional;
  if (cosine) {
    queries = F::normalize(queries, F::NormalizeFuncOptions().dim(1));
    gallery = F::normalize(gallery, F::NormalizeFuncOptions().dim(1));
  }
  std::vector<int64_t> truth(size_t(n), -1);
  if (own) {
    for (int64_t i = 0; i < n; ++i) truth[size_t(i)] = i;
  }
  return retrieval_metrics(queries, gallery, truth, query_ll, gallery_ll, geoloc_radii_km());
}

}  // namespace satclip::core
