#include "datasets/synth.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "core/base/error.h"
#include "core/base/fs_util.h"

namespace satclip::data {

void write_synthetic_dataset(const std::string& dir, const SynthOptions& o) {
  SATCLIP_CHECK(o.count >= 1, cat("synthetic dataset: count ", o.count, " is not positive"), "use --count 1 or more");
  SATCLIP_CHECK(o.size >= 16 && o.size % 16 == 0 && o.size <= 4096,
                cat("synthetic dataset: size ", o.size, " px is not a multiple of 16 in 16 .. 4096"),
                "GeoTIFF internal tiles are multiples of 16 px; use e.g. --size 32, 64 or 256");
  namespace fs = std::filesystem;
  fs::create_directories(fs::path(dir) / "images");
  std::vector<double> lats(o.count), lons(o.count);
  for (int64_t i = 0; i < o.count; ++i) synth_location(i, o.seed, lats[i], lons[i]);
  const int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  std::atomic<int64_t> next{0};
  std::vector<std::string> errors(threads);
  std::vector<std::thread> pool;
  for (int w = 0; w < threads; ++w) {
    pool.emplace_back([&, w] {
      try {
        for (int64_t i = next++; i < o.count; i = next++) {
          const auto path = (fs::path(dir) / "images" / ("patch_" + std::to_string(i) + ".tif")).string();
          write_geotiff(path, synth_tile(lats[i], lons[i], o.size, o.seed), lats[i], lons[i]);
        }
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  }
  for (auto& t : pool) t.join();
  for (const auto& e : errors) SATCLIP_CHECK(e.empty(), e, "");
  const auto index = (fs::path(dir) / "index.csv").string();
  std::ostringstream out;
  out << "lat,lon,url,fn\n";
  out.precision(10);
  for (int64_t i = 0; i < o.count; ++i) {
    out << lats[i] << "," << lons[i] << ",synthetic://patch_" << i << ",patch_" << i << ".tif\n";
  }
  write_file_atomically(index, out.str());
}

}  // namespace satclip::data
