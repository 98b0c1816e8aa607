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
#include "datasets/h5_shards.h"

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

// SplitMix64: a fixed, portable hash for per-pixel noise.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }  // [0, 1)

}  // namespace

LandCover land_cover(double lat, double lon) {
  const double phi = lat * kPi / 180, lam = lon * kPi / 180;
  LandCover c;
  c.snow = smoothstep(55, 75, std::abs(lat));
  // Large "oceans" and "lakes" as smooth bands on the sphere.
  const double sea = 0.5 + 0.5 * std::sin(2 * lam + 0.7) * std::cos(3 * phi - 0.4);
  c.water = (1 - c.snow) * smoothstep(0.72, 0.9, sea);
  // Wet and warm favours vegetation; dry subtropics (|lat| ~ 25) favour bare soil.
  const double warmth = std::cos(phi);
  const double wetness = 0.5 + 0.5 * std::sin(3 * lam + 1.3 * phi) - 0.6 * std::exp(-std::pow((std::abs(lat) - 25) / 10, 2));
  const double veg_share = std::clamp(warmth * (0.3 + 0.9 * wetness), 0.0, 1.0);
  const double land = 1 - c.snow - c.water;
  c.vegetation = land * veg_share;
  c.bare = land - c.vegetation;
  return c;
}

void synth_location(int64_t i, uint64_t seed, double& lat, double& lon) {
  const uint64_t h = mix(seed * 0x632BE59BD9B4E019ULL ^ static_cast<uint64_t>(i));
  const double u = unit(mix(h)), v = unit(mix(h ^ 0xA5A5A5A5ULL));
  lat = std::asin(2 * u - 1) * 180 / kPi;  // uniform on the sphere
  lon = v * 360 - 180;
}

Tile synth_tile(double lat, double lon, int size, uint64_t seed) {
  const LandCover c = land_cover(lat, lon);
  Tile t;
  t.bands = kS2Bands;
  t.height = t.width = size;
  t.data.resize(static_cast<size_t>(kS2Bands) * size * size);
  // Texture: field stripes whose phase and period depend on the place, plus pixel noise.
  const uint64_t place = mix(seed ^ mix(static_cast<uint64_t>(std::llround((lat + 90) * 1e6)) * 31 +
                                        static_cast<uint64_t>(std::llround((lon + 180) * 1e6))));
  const double phase_x = unit(place), phase_y = unit(mix(place));
  const double period = 8 + 24 * unit(mix(place + 1));
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const double field = 0.5 * std::sin(2 * kPi * (x / period + phase_x)) * std::cos(2 * kPi * (y / period + phase_y));
      const double veg = std::clamp(c.vegetation * (1 + field), 0.0, 1.0);
      const double bare = std::max(0.0, c.vegetation + c.bare - veg);
      const uint64_t ph = mix(place ^ (static_cast<uint64_t>(y) << 32 | static_cast<uint64_t>(x)));
      for (int b = 0; b < kS2Bands; ++b) {
        const double noise = 1 + 0.06 * (unit(mix(ph + b)) - 0.5);
        const double value = (c.water * kWater[b] + veg * kVegetation[b] + bare * kBare[b] + c.snow * kSnow[b]) * noise;
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
