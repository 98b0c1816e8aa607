// GeoTIFF tiles through GDAL: reading S2-100k tiles and writing tiles in the same layout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace satclip::data {

// One tile, band-sequential: data[(c * height + y) * width + x].
struct Tile {
  int bands = 0;
  int height = 0;
  int width = 0;
  std::vector<uint16_t> data;
};

// Reads a uint16 GeoTIFF. Throws satclip::Error with the file name and the reason (cannot open,
// not uint16, ...). Each thread may call it concurrently on different files.
Tile read_geotiff(const std::string& path);

// Writes `tile` as an S2-100k-style GeoTIFF: uint16, LZW with predictor 2, internally tiled,
// pixel-interleaved, EPSG:4326 with 10 m pixels (in degrees) centred on (lat, lon).
void write_geotiff(const std::string& path, const Tile& tile, double lat, double lon);

// Registers GDAL's drivers once (thread-safe).
void ensure_gdal();

}  // namespace satclip::data
