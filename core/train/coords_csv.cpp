#include "core/train/coords_csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "core/base/error.h"

namespace satclip::core {
namespace {

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(field);
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  out.push_back(field);
  for (auto& f : out) {  // trim blanks
    const auto b = f.find_first_not_of(" \t"), e = f.find_last_not_of(" \t");
    f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
  }
  return out;
}

double parse_degrees(const std::string& path, int64_t line, const std::string& column, const std::string& text,
                     double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  SATCLIP_CHECK(!text.empty() && *end == '\0' && errno != ERANGE && std::isfinite(v),
                cat(path, ":", line, ": ", column, " '", text, "' is not a number"), "write decimal degrees, e.g. 47.37");
  SATCLIP_CHECK(v >= lo && v <= hi, cat(path, ":", line, ": ", column, " ", v, " is outside ", lo, " .. ", hi),
                "lat is in -90 .. 90 and lon in -180 .. 180 (or 0 .. 360) degrees");
  return v;
}

}  // namespace

std::vector<LatLon> read_coords_csv(const std::string& path) {
  std::ifstream in(path);
  SATCLIP_CHECK(in.good(), cat(path, ": cannot open the coordinates file"), "check the path");
  std::string line;
  SATCLIP_CHECK(static_cast<bool>(std::getline(in, line)), cat(path, ": empty file, expected a header with lat and lon"),
                "the first line names the columns, e.g. lat,lon");
  const auto header = split_fields(line);
  int64_t lat_col = -1, lon_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "lat" || header[i] == "latitude") lat_col = int64_t(i);
    if (header[i] == "lon" || header[i] == "lng" || header[i] == "longitude") lon_col = int64_t(i);
  }
  SATCLIP_CHECK(lat_col >= 0 && lon_col >= 0, cat(path, ":1: the header '", line, "' has no lat and lon columns"),
                "name the columns lat and lon (any order; other columns are ignored)");
  std::vector<LatLon> out;
  for (int64_t n = 2; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
    const auto f = split_fields(line);
    SATCLIP_CHECK(int64_t(f.size()) > std::max(lat_col, lon_col),
                  cat(path, ":", n, ": ", f.size(), " field(s), expected at least ", std::max(lat_col, lon_col) + 1),
                  "every row needs the lat and lon columns of the header");
    LatLon c{parse_degrees(path, n, "lat", f[lat_col], -90, 90), parse_degrees(path, n, "lon", f[lon_col], -180, 360)};
    if (c.lon > 180) c.lon -= 360;  // 0 .. 360 convention -> -180 .. 180
    out.push_back(c);
  }
  return out;
}

}  // namespace satclip::core
