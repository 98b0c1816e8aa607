#include "datasets/transforms.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <iterator>
#include <vector>

#include "core/base/error.h"

#ifdef SATCLIP_HAVE_CUDA
#include <c10/core/DeviceGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "datasets/bands_kernel.h"
#endif

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

// Scales `x` (float32) in place: x / 10000, or 2x - 1 for normalize. (x - 0.5) / 0.5 is 2x - 1
// exactly for the integers x < 2^23 a uint16 holds; lerp(x, 1, -1) = 1 - 2 (1 - x) computes it in
// one pass, and exactly: every intermediate is an integer below 2^24.
void scale_in_place(torch::Tensor& x, Scaling scaling) {
  if (scaling == Scaling::kDivide10000) {
    x.div_(10000.0);
  } else {
    x.lerp_(torch::scalar_tensor(1.0, x.options()), -1.0);
  }
}

// Scales uint16 `bands` into `out` (float32, same sizes, any strides) in one converting pass, the
// same values as scale_in_place: x / 10000, or -1 + 2x (exact, as above).
void scale_into(torch::Tensor out, const torch::Tensor& bands, Scaling scaling) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  if (scaling == Scaling::kDivide10000) {
    torch::div_out(out, bands, torch::scalar_tensor(10000.0, f32));
  } else {
    torch::add_out(out, torch::scalar_tensor(-1.0, f32), bands, /*alpha=*/2);
  }
}

// The stored bands in the layout's order, uint16 [B, C', H, W] contiguous, zeros in the zero
// channel: one gathering copy on the uint16 side (half the bytes of float32).
torch::Tensor gather_bands(const torch::Tensor& raw, const Layout& layout) {
  const auto shorts = raw.view(torch::kShort);  // movement ops on int16: the same bits
  std::vector<torch::Tensor> parts;
  for (const auto& c : layout.copies) {
    if (layout.zero_channel >= 0 && layout.zero_channel == c.to - 1) {
      parts.push_back(torch::zeros({raw.size(0), 1, raw.size(2), raw.size(3)}, shorts.options()));
    }
    parts.push_back(shorts.narrow(1, c.from, c.count));
  }
  return torch::cat(parts, 1).view(torch::kUInt16);
}

// On a GPU, channels-last: band layout and scaling in one kernel (datasets/bands_kernel.cu), the
// same values as scale_into, the zero channel included. False where it does not apply: a build
// without CUDA, a batch not on a CUDA device, more channels than the kernel takes.
bool scale_on_gpu(torch::Tensor& out, const torch::Tensor& raw, const Layout& layout, Scaling scaling) {
#ifdef SATCLIP_HAVE_CUDA
  if (!raw.is_cuda() || layout.channels > BandsToChannelsLast::kMaxChannels) return false;
  SATCLIP_CHECK(raw.scalar_type() == torch::kUInt16 && raw.dim() == 4 &&
                    out.is_contiguous(torch::MemoryFormat::ChannelsLast),
                "scale_on_gpu: expects uint16 [B, C, H, W] bands and a channels-last output", "");
  BandsToChannelsLast p;
  p.in = static_cast<const uint16_t*>(raw.const_data_ptr());
  p.n = raw.size(0), p.h = raw.size(2), p.w = raw.size(3);
  p.stride_n = raw.stride(0), p.stride_c = raw.stride(1), p.stride_h = raw.stride(2), p.stride_w = raw.stride(3);
  p.out = out.data_ptr<float>();
  p.channels = static_cast<int>(layout.channels);
  std::fill(std::begin(p.source), std::end(p.source), -1);
  for (const auto& c : layout.copies) {
    for (int64_t k = 0; k < c.count; ++k) p.source[c.to + k] = static_cast<int>(c.from + k);
  }
  // ATen's CUDA division by a CPU scalar multiplies by its float reciprocal; 2x - 1 is exact.
  if (scaling == Scaling::kDivide10000) {
    p.mul = 1.0f / 10000.0f;
  } else {
    p.mul = 2.0f, p.add = -1.0f;
  }
  const c10::DeviceGuard on(raw.device());
  launch_bands_to_channels_last(p, c10::cuda::getCurrentCUDAStream(raw.device().index()).stream());
  return true;
#else
  (void)out, (void)raw, (void)layout, (void)scaling;
  return false;
#endif
}

// Bilinear with antialiasing, as torchvision's Resize on tensors (the seed's transform): when
// shrinking, each output pixel averages the input under a triangle filter widened by the scale
// factor, so no input pixel is skipped; when enlarging it is plain bilinear. ATen runs the same
// kernel on the CPU and on CUDA.
torch::Tensor resize(const torch::Tensor& x, int64_t size) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{size, size})
                               .mode(torch::kBilinear)
                               .align_corners(false)
                               .antialias(true));
}

// Flips the samples `which` (a CPU bool [B]) of `x` along `dim`, in place.
void flip_some(torch::Tensor& x, const torch::Tensor& which, int64_t dim) {
  const auto idx = which.nonzero().view({-1});
  if (idx.numel() == 0) return;
  const auto on = idx.to(x.device());
  x.index_copy_(0, on, x.index_select(0, on).flip({dim}));
}

}  // namespace

ScaleMethod scale_method_for(const torch::Device& device) {
  return device.is_cuda() ? ScaleMethod::kConvertOnLoad : ScaleMethod::kCopyThenScale;
}

torch::Tensor scale_bands(const torch::Tensor& raw, const TransformOptions& o, torch::MemoryFormat format,
                          ScaleMethod method, const torch::Tensor& into) {
  const auto layout = band_layout(raw.size(1), o.band_layout);
  const std::vector<int64_t> sizes{raw.size(0), layout.channels, raw.size(2), raw.size(3)};
  auto out = fits(into, sizes, format, raw.device())
                 ? into
                 : torch::empty(sizes, raw.options().dtype(torch::kFloat).memory_format(format));
  if (method == ScaleMethod::kCopyThenScale) {
    for (const auto& c : layout.copies) out.narrow(1, c.to, c.count).copy_(raw.narrow(1, c.from, c.count));
    scale_in_place(out, o.scaling);
  } else if (format == torch::MemoryFormat::ChannelsLast && scale_on_gpu(out, raw, layout, o.scaling)) {
    return out;
  } else if (format == torch::MemoryFormat::Contiguous || layout.copies.size() == 1) {
    // Each band group is one block of the output (or the whole of it): scaled straight into it.
    for (const auto& c : layout.copies) {
      scale_into(out.narrow(1, c.to, c.count), raw.narrow(1, c.from, c.count), o.scaling);
    }
  } else {
    // Channels-last interleaves the bands, so a group written on its own would write part of
    // every output pixel, once per group: the bands are gathered in output order first.
    scale_into(out, gather_bands(raw, layout), o.scaling);
    if (o.scaling == Scaling::kDivide10000) return out;  // the gathered zeros stayed 0
  }
  if (layout.zero_channel >= 0) out.select(1, layout.zero_channel).zero_();  // zero after scaling
  return out;
}

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
  const auto method = scale_method_for(device);
  const int64_t s = o.image_size, h = x.size(2), w = x.size(3);
  const bool resample = (o.crop == Crop::kResize || h < s || w < s) && (h != s || w != s);
  if (resample) {
    x = resize(scale_bands(x.view(torch::kUInt16), o, torch::MemoryFormat::Contiguous, method), s);
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
    p.images = scale_bands(x.view(torch::kUInt16), o, format, method, into);
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
