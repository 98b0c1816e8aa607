#include "datasets/transforms.h"

#include <ATen/CPUGeneratorImpl.h>

#include <vector>

#include "core/base/error.h"

namespace satclip::data {
namespace {

// Where the stored bands go in the output: output channel `to` onwards takes `count` bands from
// stored band `from`. The satclip layout's channel 10 (B10) is not written here: it is zero.
struct BandCopy {
  int64_t from, to, count;
};

struct Layout {
  int64_t channels = 0;
  std::vector<BandCopy> copies;
  int64_t zero_channel = -1;
};

Layout band_layout(int64_t stored, BandLayout layout) {
  if (layout == BandLayout::kNone) return {stored, {{0, 0, stored}}, -1};
  SATCLIP_CHECK(stored == 12,
                cat("band_layout '", option_name(layout), "' expects 12-band tiles, the batch has ", stored),
                "use data.band_layout=none for 13-band shards");
  if (layout == BandLayout::kSatclip) return {13, {{0, 0, 10}, {10, 11, 2}}, 10};  // SSL4EO: B10 between B09, B11
  return {13, {{0, 0, 12}, {0, 12, 1}}, -1};  // seed: a copy of B01 appended
}

// Whether the caller's `into` can take float32 images of `sizes` in `format` on `device`.
bool fits(const torch::Tensor& into, at::IntArrayRef sizes, torch::MemoryFormat format, const torch::Device& device) {
  return into.defined() && into.sizes() == sizes && into.scalar_type() == torch::kFloat && into.device() == device &&
         into.is_contiguous(format);
}

// `raw` (uint16 [B, stored, H, W]) scaled into the band layout, as float32 in `format` (into
// `into` when it fits): one converting copy per band group, then the scaling in place.
torch::Tensor scale_into_layout(const torch::Tensor& raw, const TransformOptions& o, torch::MemoryFormat format,
                                const torch::Tensor& into = {}) {
  const auto layout = band_layout(raw.size(1), o.band_layout);
  const std::vector<int64_t> sizes{raw.size(0), layout.channels, raw.size(2), raw.size(3)};
  auto out = fits(into, sizes, format, raw.device())
                 ? into
                 : torch::empty(sizes, raw.options().dtype(torch::kFloat).memory_format(format));
  for (const auto& c : layout.copies) out.narrow(1, c.to, c.count).copy_(raw.narrow(1, c.from, c.count));
  if (o.scaling == Scaling::kDivide10000) {
    out.div_(10000.0);
  } else {
    // (x - 0.5) / 0.5 is 2x - 1 exactly for the integers x < 2^23 a uint16 holds. lerp(x, 1, -1)
    // = 1 - 2 (1 - x) computes it in one pass, and exactly: every intermediate is an integer
    // below 2^24.
    out.lerp_(torch::scalar_tensor(1.0, out.options()), -1.0);
  }
  if (layout.zero_channel >= 0) out.select(1, layout.zero_channel).zero_();  // zero after scaling too
  return out;
}

torch::Tensor resize(const torch::Tensor& x, int64_t size) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{size, size})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

// Flips the samples `which` (a CPU bool [B]) of `x` along `dim`, in place.
void flip_some(torch::Tensor& x, const torch::Tensor& which, int64_t dim) {
  const auto idx = which.nonzero().view({-1});
  if (idx.numel() == 0) return;
  const auto on = idx.to(x.device());
  x.index_copy_(0, on, x.index_select(0, on).flip({dim}));
}

}  // namespace

// The definition: scale, band layout, crop or resize, flips, in that order. Crops and flips only
// move pixels, so where no resampling happens they run first, on the uint16 pixels (half the
// bytes of float32), and scaling and layout then write the output once, in its final memory
// format. The result is the same, bit for bit; random draws keep the definition's order.
Prepared prepare_batch(const Batch& batch, const TransformOptions& o, const torch::Device& device,
                       uint64_t seed, bool training, const torch::Tensor& into) {
  const bool async = batch.images.is_pinned();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = batch.images.size(0);
  // Movement ops on int16: the same bits, and every kernel supports the type.
  torch::Tensor x = batch.images.to(device, /*non_blocking=*/async).view(torch::kShort);
  // The loader may refill the pinned buffer once the copy out of it has finished, not before.
  if (async && batch.images_fence) batch.images_fence->record(device);
  const auto format = o.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  const int64_t s = o.image_size, h = x.size(2), w = x.size(3);
  const bool resample = (o.crop == Crop::kResize || h < s || w < s) && (h != s || w != s);
  if (resample) {
    x = resize(scale_into_layout(x.view(torch::kUInt16), o, torch::MemoryFormat::Contiguous), s);
  } else if (o.crop == Crop::kRandom && training && (h != s || w != s)) {
    const auto dy = torch::randint(h - s + 1, {n}, gen, torch::kLong);
    const auto dx = torch::randint(w - s + 1, {n}, gen, torch::kLong);
    std::vector<torch::Tensor> crops;
    for (int64_t i = 0; i < n; ++i) {
      crops.push_back(x[i].narrow(1, dy[i].item<int64_t>(), s).narrow(2, dx[i].item<int64_t>(), s));
    }
    x = torch::stack(crops);
  } else {
    if (o.crop == Crop::kRandom && training) {  // the definition draws offsets even when they are all 0
      torch::randint(1, {n}, gen, torch::kLong);
      torch::randint(1, {n}, gen, torch::kLong);
    }
    x = x.narrow(2, (h - s) / 2, s).narrow(3, (w - s) / 2, s);  // center (the whole tile at size s)
  }
  if (o.flips && training) {
    const auto fh = torch::rand({n}, gen) < 0.5;
    const auto fv = torch::rand({n}, gen) < 0.5;
    if (x.is_alias_of(batch.images)) x = x.clone();  // on the CPU `to` returns the caller's batch itself
    flip_some(x, fh, 3);
    flip_some(x, fv, 2);
  }
  Prepared p;
  if (!resample) {
    p.images = scale_into_layout(x.view(torch::kUInt16), o, format, into);
  } else if (fits(into, x.sizes(), format, x.device())) {
    p.images = into.copy_(x);
  } else {
    p.images = x.contiguous(format);
  }
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
