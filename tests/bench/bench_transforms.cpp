// Benchmark: the transforms' scaling and band layout (data::scale_bands), the GPU work that an
// end-to-end step adds to the model step.
//   bench_transforms [--device cuda|cpu] [--batch B] [--size S] [--bands N] [--layout L]
//                    [--scaling S] [--reps R]
// Random uint16 tiles [B, N, S, S] already on the device; for each ScaleMethod and memory format,
// the mean time of R calls into a reused output (as into a CUDA graph's static input), the device
// synchronised around the timed loop, and the bytes read and written per second.
#include <chrono>
#include <cstdio>
#include <string>

#include "core/apps/cli.h"
#include "datasets/transforms.h"

using namespace satclip::data;

namespace {

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

int body(int argc, char** argv) {
  satclip::cli::Args a(argc, argv, {"device", "batch", "size", "bands", "layout", "scaling", "reps"});
  if (a.help() || !a.positional().empty()) {
    std::puts("usage: bench_transforms [--device cuda|cpu] [--batch B] [--size S] [--bands N]\n"
              "                        [--layout satclip|seed|none] [--scaling divide10000|normalize] [--reps R]");
    return a.help() ? 0 : 2;
  }
  const torch::Device device(a.str("device", torch::cuda::is_available() ? "cuda" : "cpu"));
  const int64_t batch = a.integer("batch", 160, 1, 100000), size = a.integer("size", 224, 1, 100000);
  const int64_t bands = a.integer("bands", 12, 1, 1000);
  const int reps = static_cast<int>(a.integer("reps", 20, 1, 100000));
  TransformOptions o;
  o.band_layout = a.choice("layout", satclip::BandLayout::kSeed);
  o.scaling = a.choice("scaling", satclip::Scaling::kNormalize);
  o.image_size = size;
  const auto raw = torch::randint(0, 10000, {batch, bands, size, size}, torch::TensorOptions().dtype(torch::kInt))
                       .to(torch::kShort).to(device).view(torch::kUInt16);
  const struct {
    ScaleMethod method;
    const char* name;
  } methods[] = {{ScaleMethod::kCopyThenScale, "copy-then-scale"}, {ScaleMethod::kConvertOnLoad, "convert-on-load"}};
  for (const auto format : {torch::MemoryFormat::ChannelsLast, torch::MemoryFormat::Contiguous}) {
    for (const auto& m : methods) {
      auto out = scale_bands(raw, o, format, m.method);  // also the warm-up
      sync(device);
      const auto t0 = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r) out = scale_bands(raw, o, format, m.method, out);
      sync(device);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
      const double bytes = static_cast<double>(raw.numel()) * 2 + static_cast<double>(out.numel()) * 4;
      std::printf("bench_transforms %s: %s, batch %lld, %lld -> %lld bands, %lldx%lld px, %s, %s: %.3f ms per batch, "
                  "%.0f GB/s (uint16 read once, float32 written once)\n",
                  device.str().c_str(), m.name, static_cast<long long>(batch), static_cast<long long>(bands),
                  static_cast<long long>(out.size(1)), static_cast<long long>(size), static_cast<long long>(size),
                  format == torch::MemoryFormat::ChannelsLast ? "channels-last" : "contiguous",
                  std::string(satclip::option_name(o.band_layout)).c_str(), ms, bytes / ms / 1e6);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("bench_transforms", body, argc, argv); }
