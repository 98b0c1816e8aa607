// Reading a CSV of coordinates (train.val_gallery, satclip-embed --coords, satclip-eval's station
// data): lines starting with '#' before the header are comments; a header row naming `lat` and
// `lon` columns (any case, any order; other columns ignored), then one location per row in
// degrees. Every bad row is an error naming the file and line.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace satclip::core {

struct LatLon {
  double lat = 0, lon = 0;
};

// Throws satclip::Error naming `path` and the line for: no lat/lon column, a row with too few
// fields, a value that is not a number, lat outside [-90, 90] or lon outside [-180, 360].
std::vector<LatLon> read_coords_csv(const std::string& path);
// The same, plus the finite number in column `value_column` (any case) of every row.
std::vector<LatLon> read_coords_csv(const std::string& path, const std::string& value_column,
                                    std::vector<double>& values);
// The same rows, handing each row's `value_column` field as text to `value` with its line number
// (which the caller names in its errors).
std::vector<LatLon> read_coords_csv_rows(const std::string& path, const std::string& value_column,
                                         const std::function<void(int64_t line, const std::string& text)>& value);

}  // namespace satclip::core
