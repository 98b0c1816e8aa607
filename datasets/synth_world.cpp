#include "datasets/synth_world.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace satclip::data {
namespace {

#include "datasets/synth_world_table.inc"

constexpr int kRows = 360, kCols = 720;

const std::vector<uint8_t>& country_grid() {
  static const std::vector<uint8_t> grid = [] {
    static_assert(kWorldCountries < 256, "country ids are stored in bytes");
    std::vector<uint8_t> g;
    g.reserve(size_t(kRows) * kCols);
    for (const auto& run : kWorldCountryRuns) g.insert(g.end(), run[1], uint8_t(run[0]));
    g.resize(size_t(kRows) * kCols, 0);  // the table covers the grid exactly; this only guards it
    return g;
  }();
  return grid;
}

double wrap_lon(double lon) {
  lon = std::fmod(lon + 180.0, 360.0);
  return (lon < 0 ? lon + 360.0 : lon) - 180.0;
}

// Bilinear between 5-degree cell centres.
double climate(const int16_t (&table)[36][72], double lat, double lon) {
  const double fy = std::clamp((90.0 - lat) / 5.0 - 0.5, 0.0, 35.0), fx = (lon + 180.0) / 5.0 - 0.5;
  const int y0 = std::min(34, int(std::floor(fy)));
  const double ty = fy - y0;
  const int x0 = int(std::floor(fx));
  const double tx = fx - x0;
  const int xa = (x0 % 72 + 72) % 72, xb = (xa + 1) % 72;
  const double top = table[y0][xa] * (1 - tx) + table[y0][xb] * tx;
  const double bottom = table[y0 + 1][xa] * (1 - tx) + table[y0 + 1][xb] * tx;
  return top * (1 - ty) + bottom * ty;
}

}  // namespace

Place place_at(double lat, double lon) {
  lat = std::clamp(lat, -90.0, 90.0);
  lon = wrap_lon(lon);
  const int row = std::clamp(int((90.0 - lat) / 0.5), 0, kRows - 1);
  const int col = std::clamp(int((lon + 180.0) / 0.5), 0, kCols - 1);
  Place p;
  p.country = country_grid()[size_t(row) * kCols + col];
  p.temperature_c = climate(kWorldTemperature, lat, lon) / 10.0;
  p.precipitation_mm = std::max(0.0, climate(kWorldPrecipitation, lat, lon));
  return p;
}

}  // namespace satclip::data
