#include "core/infer/coords_csv.h"

#include <cmath>
#include <algorithm>

#include "core/base/error.h"
#include "core/base/line_reader.h"
#include "core/base/text.h"

namespace satclip::core {
namespace {

// A coordinates row is a few numbers and maybe a name: 1 MiB is far more than any real line.
constexpr size_t kMaxLine = size_t{1} << 20;

// The fields of a line, RFC 4180 quoting, each without surrounding blanks.
std::vector<std::string> split_fields(const std::string& line) {
  auto fields = split_csv_line(line);
  for (auto& f : fields) f = trim_blanks(f);
  return fields;
}

// A finite number in lo .. hi; `degrees`: a coordinate (the hints say so).
double parse_number(const std::string& path, int64_t line, const std::string& column, const std::string& text,
                    double lo, double hi, bool degrees) {
  double v = 0;
  SATCLIP_CHECK(parse_decimal(text, v),
                cat(path, ":", line, ": ", column, " '", text, "' is not a number"),
                degrees ? "write decimal degrees, e.g. 47.37" : "write a finite decimal number, e.g. 12.5");
  SATCLIP_CHECK(v >= lo && v <= hi, cat(path, ":", line, ": ", column, " ", v, " is outside ", lo, " .. ", hi),
                "lat is in -90 .. 90 and lon in -180 .. 180 (or 0 .. 360) degrees");
  return v;
}

}  // namespace

std::vector<LatLon> read_coords_csv(const std::string& path) {
  std::vector<double> none;
  return read_coords_csv(path, "", none);
}

std::vector<LatLon> read_coords_csv(const std::string& path, const std::string& value_column,
                                    std::vector<double>& values) {
  values.clear();
  return read_coords_csv_rows(path, value_column, [&](int64_t line, const std::string& text) {
    values.push_back(parse_number(path, line, value_column, text, -1e300, 1e300, false));
  });
}

std::vector<LatLon> read_coords_csv_rows(const std::string& path, const std::string& value_column,
                                         const std::function<void(int64_t, const std::string&)>& value) {
  LineReader in(path, kMaxLine, "the coordinates file", "check the path");
  std::string line;
  bool got = false;
  while ((got = in.next(line)) && !line.empty() && line[0] == '#') {
  }
  int64_t n = in.number();
  SATCLIP_CHECK(got, cat(path, ": empty file, expected a header with lat and lon"),
                "the first line names the columns, e.g. lat,lon");
  const auto header = split_fields(line);
  int64_t lat_col = -1, lon_col = -1, value_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string h = to_lower(header[i]);
    if (h == "lat" || h == "latitude") lat_col = int64_t(i);
    if (h == "lon" || h == "lng" || h == "longitude") lon_col = int64_t(i);
    if (!value_column.empty() && h == to_lower(value_column)) value_col = int64_t(i);
  }
  SATCLIP_CHECK(lat_col >= 0 && lon_col >= 0, cat(path, ":", n, ": the header '", line, "' has no lat and lon columns"),
                "name the columns lat and lon (any order; other columns are ignored)");
  SATCLIP_CHECK(value_column.empty() || value_col >= 0,
                cat(path, ":", n, ": the header '", line, "' has no column ", value_column),
                cat("name the column ", value_column, " in the header (any case)"));
  const int64_t need = std::max({lat_col, lon_col, value_col}) + 1;
  std::vector<LatLon> out;
  while (in.next(line)) {
    n = in.number();
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
    const auto f = split_fields(line);
    // More fields than the header: most likely decimal commas (47,37,8,54 under lat,lon), which
    // would otherwise be read as other coordinates.
    SATCLIP_CHECK(filled_fields(f) <= header.size(),
                  cat(path, ":", n, ": ", filled_fields(f), " fields, the header has ", header.size()),
                  "decimal commas? write 47.37, not 47,37 (or quote such fields); a row has the header's columns");
    SATCLIP_CHECK(int64_t(f.size()) >= need, cat(path, ":", n, ": ", f.size(), " field(s), expected at least ", need),
                  "every row needs the lat and lon columns of the header");
    LatLon c{parse_number(path, n, "lat", f[lat_col], -90, 90, true),
             parse_number(path, n, "lon", f[lon_col], -180, 360, true)};
    if (c.lon > 180) c.lon -= 360;  // 0 .. 360 convention -> -180 .. 180
    out.push_back(c);
    if (value_col >= 0) value(n, f[size_t(value_col)]);
  }
  return out;
}

}  // namespace satclip::core
