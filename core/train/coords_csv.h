// Reading a CSV of coordinates (train.val_gallery, satclip-embed --coords): a header row naming
// `lat` and `lon` columns in any order (other columns ignored), then one location per row in
// degrees. Every bad row is an error naming the file and line.
#pragma once

#include <string>
#include <vector>

namespace satclip::core {

struct LatLon {
  double lat = 0, lon = 0;
};

// Throws satclip::Error naming `path` and the line for: no lat/lon column, a row with too few
// fields, a value that is not a number, lat outside [-90, 90] or lon outside [-180, 360].
std::vector<LatLon> read_coords_csv(const std::string& path);

}  // namespace satclip::core
