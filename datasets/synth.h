// Synthetic S2-100k: tiles whose pixels are a deterministic function of their location plus
// texture, written in the exact S2-100k layout (index.csv + images/patch_<i>.tif).
//
// The content follows the real world (datasets/synth_world.h): a tile covers 1 x 1 degree around
// its location; each pixel is sea (water, or ice where the annual mean is below -8 C) or land of the
// Natural Earth country there. Land mixes vegetation, bare soil and snow by the interpolated
// station climate (snow below 0 C, vegetation with rain and warmth), each country with its own
// field pattern (period and orientation) and a tint of its soil and crops; every band mixes
// typical Sentinel-2 L2A spectra of those covers, with pixel noise. So a model trained on the
// sample learns the coastlines, the countries and the climate zones, and satclip-eval's
// land_sea, countries and station tasks measure what it learnt.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/geotiff.h"

namespace satclip::data {

// Changes whenever the tiles of a given (count, size, seed) change: the sample a run makes on first
// use is cached under a folder name that carries it (core/train/data/data_setup.h).
constexpr int kSynthVersion = 2;

// The 12 S2-100k bands, in file order.
constexpr int kS2Bands = 12;
extern const char* const kS2BandNames[kS2Bands];

struct LandCover {
  double water = 0, vegetation = 0, bare = 0, snow = 0;  // sums to 1
};

// The land-cover fractions at the point (lat, lon) in degrees (before the texture).
LandCover land_cover(double lat, double lon);

// The i-th synthetic location for `seed`, in degrees: a point uniform on the sphere; if it is at
// sea, a second such point instead (at sea or not), so about half the tiles show land.
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
