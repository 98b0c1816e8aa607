// Synthetic S2-100k: tiles whose pixels are a deterministic function of their location plus
// texture, written in the exact S2-100k layout (index.csv + images/patch_<i>.tif).
//
// Each location gets land-cover fractions (water, vegetation, bare soil, snow) that vary smoothly
// with latitude and longitude like climate zones; each band's reflectance mixes typical
// Sentinel-2 L2A spectra of those covers, modulated by field-like texture and pixel noise. So a
// model can learn the image <-> location association, and land_cover() is a location-dependent
// variable a probe can predict from location embeddings.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/geotiff.h"

namespace satclip::data {

// The 12 S2-100k bands, in file order.
constexpr int kS2Bands = 12;
extern const char* const kS2BandNames[kS2Bands];

struct LandCover {
  double water = 0, vegetation = 0, bare = 0, snow = 0;  // sums to 1
};

// The smooth, climate-like land-cover fractions at (lat, lon) in degrees.
LandCover land_cover(double lat, double lon);

// The i-th synthetic location for `seed`: uniform on the sphere, in degrees.
void synth_location(int64_t i, uint64_t seed, double& lat, double& lon);

// The tile at (lat, lon): 12 bands of `size` x `size` uint16 digital numbers.
Tile synth_tile(double lat, double lon, int size, uint64_t seed);

struct SynthOptions {
  int64_t count = 100;
  int size = 256;
  uint64_t seed = 0;
  int threads = 0;  // 0: hardware concurrency
};

// Writes DIR/index.csv (header lat,lon,url,fn) and DIR/images/patch_<i>.tif for i < count
// (needs GDAL; the input of satclip-pack).
void write_synthetic_dataset(const std::string& dir, const SynthOptions& options);

// Writes the same tiles straight into packed shards + manifest.json (no GDAL needed), as
// satclip-pack would produce from write_synthetic_dataset's output without compression.
void write_synthetic_shards(const std::string& dir, const SynthOptions& options, int shards = 1);

}  // namespace satclip::data
