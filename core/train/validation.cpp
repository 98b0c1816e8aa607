#include "core/train/validation.h"

#include <torch/nn/functional/normalization.h>

#include "core/base/error.h"
#include "core/train/losses.h"

namespace satclip::core {
namespace {

struct Encoded {
  torch::Tensor image, location, latlon, index;  // this rank's rows
};

Encoded encode_my_share(SatClip& model, const ValidationSet& set, int rank, int world, int64_t dim) {
  std::vector<int64_t> mine;
  for (size_t i = rank; i < set.indices.size(); i += world) mine.push_back(set.indices[i]);
  std::vector<torch::Tensor> img, loc, ll, idx;
  if (!mine.empty() && set.features) {  // the feature cache: no tiles, no image encoder
    for (size_t s = 0; s < mine.size(); s += size_t(set.loader.batch_size)) {
      const std::vector<int64_t> part(mine.begin() + s, mine.begin() + std::min(mine.size(), s + size_t(set.loader.batch_size)));
      auto lat_lon = torch::empty({int64_t(part.size()), 2}, torch::kDouble);
      double* p = lat_lon.data_ptr<double>();
      for (size_t i = 0; i < part.size(); ++i) p[2 * i] = set.dataset->lat(part[i]), p[2 * i + 1] = set.dataset->lon(part[i]);
      const auto features = set.features->gather(part, /*training=*/false, 0).to(set.device);
      const auto e = model->forward_features(features, lat_lon.to(set.device, torch::kFloat));
      img.push_back(e.image.to(torch::kCPU, torch::kFloat));
      loc.push_back(e.location.to(torch::kCPU, torch::kFloat));
      ll.push_back(lat_lon);
      idx.push_back(torch::tensor(part, torch::kLong));
    }
  } else if (!mine.empty()) {
    data::Loader loader(set.dataset, mine, set.loader);
    data::Batch batch;
    int64_t k = 0;
    while (loader.next(batch)) {
      const auto p = data::prepare_batch(batch, set.transforms, set.device, /*seed=*/uint64_t(k++), /*training=*/false);
      const auto lat_lon = torch::stack({p.lat, p.lon}, 1);
      const auto e = model->forward(p.images, lat_lon.to(torch::kFloat));
      img.push_back(e.image.to(torch::kCPU, torch::kFloat));
      loc.push_back(e.location.to(torch::kCPU, torch::kFloat));
      ll.push_back(lat_lon.to(torch::kCPU));
      idx.push_back(batch.index.clone());
    }
  }
  auto cat_or_empty = [](std::vector<torch::Tensor>& v, std::vector<int64_t> empty_shape, torch::ScalarType t) {
    return v.empty() ? torch::empty(empty_shape, torch::TensorOptions().dtype(t)) : torch::cat(v);
  };
  return {cat_or_empty(img, {0, dim}, torch::kFloat), cat_or_empty(loc, {0, dim}, torch::kFloat),
          cat_or_empty(ll, {0, 2}, torch::kDouble), cat_or_empty(idx, {0}, torch::kLong)};
}

double chunked_loss(const torch::Tensor& image, const torch::Tensor& location, const LossConfig& loss,
                    const torch::Tensor& logit_scale, int64_t chunk) {
  const int64_t n = image.size(0);
  double total = 0;
  for (int64_t s = 0; s < n; s += chunk) {
    const int64_t m = std::min(chunk, n - s);
    const auto i = image.narrow(0, s, m), l = location.narrow(0, s, m);
    const auto v = loss.kind == LossKind::kSoftClip ? soft_clip_loss(i, l, loss.temperature)
                                            : info_nce_loss(i, l, logit_scale.to(torch::kCPU, torch::kFloat));
    total += v.item<double>() * double(m);
  }
  return n ? total / double(n) : 0.0;
}

torch::Tensor encode_gallery(SatClip& model, const torch::Tensor& latlon, const torch::Device& device) {
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < latlon.size(0); s += 4096) {
    const auto ll = latlon.narrow(0, s, std::min<int64_t>(4096, latlon.size(0) - s)).to(device, torch::kFloat);
    parts.push_back(model->encode_location(ll).to(torch::kCPU, torch::kFloat));
  }
  return torch::cat(parts);
}

}  // namespace

ValResult validate(SatClip& model, const LossConfig& loss, const ValidationSet& set, dist::Communicator& comm) {
  torch::NoGradGuard no_grad;
  model->train(false);
  const int64_t dim = model->image_projection.ptr()->parameters().back().size(0);
  Encoded mine = encode_my_share(model, set, comm.rank(), comm.size(), dim);
  // Gather, then restore dataset order (rank r held positions r, r + world, ...).
  const auto order = comm.all_gather(mine.index).argsort();
  const auto image = comm.all_gather(mine.image).index_select(0, order);
  const auto location = comm.all_gather(mine.location).index_select(0, order);
  const auto latlon = comm.all_gather(mine.latlon).index_select(0, order);

  ValResult r;
  const auto scale = model->logit_scale.defined() ? model->logit_scale.detach() : torch::Tensor();
  r.loss = chunked_loss(image, location, loss, scale, set.chunk);
  const bool cosine = loss.kind == LossKind::kInfoNce;
  namespace F = torch::nn::functional;
  auto norm = [&](const torch::Tensor& t) { return cosine ? F::normalize(t, F::NormalizeFuncOptions().dim(1)) : t; };
  const int64_t n = image.size(0);
  std::vector<int64_t> truth(n, -1);
  torch::Tensor gallery = location, gallery_ll = latlon;
  if (set.gallery_latlon.defined()) {
    gallery = encode_gallery(model, set.gallery_latlon, set.device);
    gallery_ll = set.gallery_latlon;
  } else {
    for (int64_t i = 0; i < n; ++i) truth[i] = i;
  }
  if (n > 0) r.retrieval = retrieval_metrics(norm(image), norm(gallery), truth, latlon, gallery_ll);
  model->train(true);
  return r;
}

}  // namespace satclip::core
