#include "datasets/synth.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "core/base/error.h"
#include "core/base/hash.h"
#include "datasets/h5_shards.h"
#include "datasets/synth_world.h"

namespace satclip::data {

const char* const kS2BandNames[kS2Bands] = {"B01", "B02", "B03", "B04", "B05", "B06",
                                            "B07", "B08", "B8A", "B09", "B11", "B12"};

namespace {

constexpr double kPi = 3.14159265358979323846;

// Typical L2A reflectance x 10000 per band (B01 .. B12 without B10).
constexpr double kWater[kS2Bands] = {600, 500, 450, 300, 250, 200, 180, 150, 130, 80, 50, 30};
constexpr double kVegetation[kS2Bands] = {300, 350, 600, 350, 1000, 2600, 3200, 3400, 3500, 1100, 1800, 900};
constexpr double kBare[kS2Bands] = {1200, 1400, 1800, 2200, 2500, 2700, 2850, 3000, 3100, 1200, 3800, 3200};
constexpr double kSnow[kS2Bands] = {8500, 8600, 8400, 8200, 8000, 7600, 7300, 7000, 6700, 2500, 600, 400};

double smoothstep(double a, double b, double x) {
  const double t = std::clamp((x - a) / (b - a), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}


double unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }  // [0, 1)

}  // namespace

LandCover land_cover(double lat, double lon) {
  const Place p = place_at(lat, lon);
  LandCover c;
  if (p.country == 0) {
    c.snow = smoothstep(-4, -14, p.temperature_c);  // sea ice
    c.water = 1 - c.snow;
    return c;
  }
  c.snow = smoothstep(0, -10, p.temperature_c);
  const double growing = smoothstep(150, 1200, p.precipitation_mm) * smoothstep(-6, 12, p.temperature_c);
  c.vegetation = (1 - c.snow) * growing;
  c.bare = 1 - c.snow - c.vegetation;
  return c;
}

void synth_location(int64_t i, uint64_t seed, double& lat, double& lon) {
  uint64_t h = splitmix64(seed * 0x632BE59BD9B4E019ULL ^ static_cast<uint64_t>(i));
  for (int attempt = 0; attempt < 2; ++attempt, h = splitmix64(h ^ 0x5EA5EA5EA5EA5EA5ULL)) {
    const double u = unit(splitmix64(h)), v = unit(splitmix64(h ^ 0xA5A5A5A5ULL));
    lat = std::asin(2 * u - 1) * 180 / kPi;  // uniform on the sphere
    lon = v * 360 - 180;
    if (place_at(lat, lon).country != 0) return;
  }
}

Tile synth_tile(double lat, double lon, int size, uint64_t seed) {
  Tile t;
  t.bands = kS2Bands;
  t.height = t.width = size;
  t.data.resize(static_cast<size_t>(kS2Bands) * size * size);
  const uint64_t place = splitmix64(seed ^ splitmix64(static_cast<uint64_t>(std::llround((lat + 90) * 1e6)) * 31 +
                                        static_cast<uint64_t>(std::llround((lon + 180) * 1e6))));
  // The tile spans kFootprint degrees of latitude and as many kilometres in longitude.
  constexpr double kFootprint = 1.0;
  const double lon_span = kFootprint / std::max(0.05, std::cos(lat * kPi / 180));
  const double phase_x = unit(place), phase_y = unit(splitmix64(place));
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const double plat = lat + kFootprint * (0.5 - (y + 0.5) / size), plon = lon + lon_span * ((x + 0.5) / size - 0.5);
      const int country = place_at(plat, plon).country;
      const LandCover c = land_cover(plat, plon);
      // The country's fields: period 6 .. 30 px and an orientation; its crops and soil tinted.
      const uint64_t k = splitmix64(0xC0FFEEULL + static_cast<uint64_t>(country));
      const double period = 6 + 24 * unit(k), angle = kPi * unit(splitmix64(k));
      const double tint_veg = 0.8 + 0.4 * unit(splitmix64(k + 1)), tint_bare = 0.8 + 0.4 * unit(splitmix64(k + 2));
      const double u = x * std::cos(angle) + y * std::sin(angle), w = -x * std::sin(angle) + y * std::cos(angle);
      const double field = 0.5 * std::sin(2 * kPi * (u / period + phase_x)) * std::cos(2 * kPi * (w / (2 * period) + phase_y));
      const double veg = std::clamp(c.vegetation * (1 + field), 0.0, c.vegetation + c.bare);
      const double bare = c.vegetation + c.bare - veg;
      const uint64_t ph = splitmix64(place ^ (static_cast<uint64_t>(y) << 32 | static_cast<uint64_t>(x)));
      for (int b = 0; b < kS2Bands; ++b) {
        const double noise = 1 + 0.06 * (unit(splitmix64(ph + b)) - 0.5);
        const double value = (c.water * kWater[b] + veg * tint_veg * kVegetation[b] + bare * tint_bare * kBare[b] +
                              c.snow * kSnow[b]) * noise;
        t.data[(static_cast<size_t>(b) * size + y) * size + x] = static_cast<uint16_t>(std::clamp(value, 1.0, 10000.0));
      }
    }
  }
  return t;
}

void write_synthetic_shards(const std::string& dir, const SynthOptions& o, int shards) {
  SATCLIP_CHECK(o.count >= 1 && o.size >= 8 && shards >= 1,
                cat("synthetic shards: count ", o.count, ", size ", o.size, ", shards ", shards, " must be positive"),
                "use count >= 1, size >= 8");
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  Manifest m;
  m.bands.assign(kS2BandNames, kS2BandNames + kS2Bands);
  m.channels = kS2Bands;
  m.height = m.width = o.size;
  m.source_index = "synthetic";
  for (int k = 0; k < shards; ++k) {
    const std::string name = cat("shard-", k, "-of-", shards, ".h5");
    ShardWriter w((fs::path(dir) / name).string(), kS2Bands, o.size, o.size, m.bands, Compression());
    for (int64_t i = o.count * k / shards; i < o.count * (k + 1) / shards; ++i) {
      double lat = 0, lon = 0;
      synth_location(i, o.seed, lat, lon);
      const Tile t = synth_tile(lat, lon, o.size, o.seed);
      w.append(t.data.data(), nullptr, lat, lon, "patch_" + std::to_string(i) + ".tif");
    }
    w.finish();
    m.shards.push_back({name, w.count()});
    m.count += w.count();
  }
  write_manifest((fs::path(dir) / "manifest.json").string(), m);
}

}  // namespace satclip::data
