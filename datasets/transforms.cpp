#include "datasets/transforms.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/base/error.h"

namespace satclip::data {
namespace {

torch::Tensor layout_bands(const torch::Tensor& x, const std::string& layout) {
  const int64_t c = x.size(1);
  if (layout == "none") return x;
  SATCLIP_CHECK(c == 12, cat("band_layout '", layout, "' expects 12-band tiles, the batch has ", c),
                "use data.band_layout=none for 13-band shards");
  if (layout == "satclip") {  // SSL4EO order: B10 (absent from L2A) sits between B09 and B11
    return torch::cat({x.narrow(1, 0, 10), torch::zeros_like(x.narrow(1, 0, 1)), x.narrow(1, 10, 2)}, 1);
  }
  if (layout == "seed") return torch::cat({x, x.narrow(1, 0, 1)}, 1);
  SATCLIP_FAIL(cat("unknown band_layout '", layout, "'"), "use satclip, seed or none");
}

torch::Tensor resize(const torch::Tensor& x, int64_t size) {
  if (x.size(2) == size && x.size(3) == size) return x;
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{size, size})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

}  // namespace

Prepared prepare_batch(const Batch& batch, const TransformOptions& o, const torch::Device& device,
                       uint64_t seed, bool training) {
  const bool async = batch.images.is_pinned();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = batch.images.size(0);
  torch::Tensor x = batch.images.to(device, /*non_blocking=*/async);
  // The loader may refill the pinned buffer once the copy out of it has finished, not before.
  if (async && batch.images_fence) batch.images_fence->record(device);
  x = x.to(torch::kFloat);
  if (o.scaling == "divide10000") {
    x = x / 10000.0;
  } else if (o.scaling == "normalize") {
    x = (x - 0.5) / 0.5;
  } else {
    SATCLIP_FAIL(cat("unknown scaling '", o.scaling, "'"), "use divide10000 or normalize");
  }
  x = layout_bands(x, o.band_layout);
  const int64_t s = o.image_size, h = x.size(2), w = x.size(3);
  const bool random_crop = o.crop == "random" && training;
  if (o.crop == "resize" || h < s || w < s) {
    x = resize(x, s);
  } else if (random_crop) {
    const auto dy = torch::randint(h - s + 1, {n}, gen, torch::kLong);
    const auto dx = torch::randint(w - s + 1, {n}, gen, torch::kLong);
    std::vector<torch::Tensor> crops;
    for (int64_t i = 0; i < n; ++i) {
      crops.push_back(x[i].narrow(1, dy[i].item<int64_t>(), s).narrow(2, dx[i].item<int64_t>(), s));
    }
    x = torch::stack(crops);
  } else {  // center, or random outside training
    x = x.narrow(2, (h - s) / 2, s).narrow(3, (w - s) / 2, s);
  }
  if (o.flips && training) {
    const auto fh = (torch::rand({n}, gen) < 0.5).to(device).view({n, 1, 1, 1});
    const auto fv = (torch::rand({n}, gen) < 0.5).to(device).view({n, 1, 1, 1});
    x = torch::where(fh, x.flip({3}), x);
    x = torch::where(fv, x.flip({2}), x);
  }
  Prepared p;
  p.images = x.contiguous();
  p.lat = batch.lat.to(device, async);
  p.lon = batch.lon.to(device, async);
  if (o.coord_jitter_deg > 0 && training) {
    auto opts = torch::TensorOptions().dtype(torch::kDouble);
    p.lat = p.lat + (torch::rand({n}, gen, opts) * o.coord_jitter_deg).to(device);
    p.lon = p.lon + (torch::rand({n}, gen, opts) * o.coord_jitter_deg).to(device);
  }
  return p;
}

}  // namespace satclip::data
