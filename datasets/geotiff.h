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

// Reads the GeoTIFF stored at bytes [offset, offset + size) of `archive` (a tar member, see
// tar_index.h) in place, through GDAL's /vsisubfile/. Errors name it "archive:member".
Tile read_geotiff_in(const std::string& archive, uint64_t offset, uint64_t size, const std::string& member);

// Writes `tile` as an S2-100k-style GeoTIFF: uint16, LZW with predictor 2, internally tiled,
// pixel-interleaved, EPSG:4326 with 10 m pixels (in degrees) centred on (lat, lon).
void write_geotiff(const std::string& path, const Tile& tile, double lat, double lon);

// Registers GDAL's drivers once (thread-safe).
void ensure_gdal();

}  // namespace satclip::data
