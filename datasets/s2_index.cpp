#include "datasets/s2_index.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_set>

#include "core/base/error.h"
#include "core/base/line_reader.h"
#include "core/base/text.h"

namespace satclip::data {

namespace {

// Whether a file name from the index stays inside the images folder it is joined to: not absolute,
// no ".." component (a crafted index could otherwise point the packer at any file).
bool stays_inside(const std::string& fn) {
  if (fn.empty() || fn[0] == '/') return false;
  for (size_t begin = 0; begin <= fn.size();) {
    const size_t end = std::min(fn.find('/', begin), fn.size());
    if (fn.compare(begin, end - begin, "..") == 0) return false;
    begin = end + 1;
  }
  return true;
}

// An index line is a file name, two numbers and a URL: about 100 bytes.
constexpr size_t kMaxIndexLine = size_t{1} << 20;

}  // namespace

std::vector<IndexRecord> read_s2_index(const std::string& path) {
  LineReader in(path, kMaxIndexLine, "the index",
                "pass the S2-100k index.csv (it lies next to the images/ folder)");
  std::string header_line;
  SATCLIP_CHECK(in.next(header_line), cat(path, ": the index is empty"),
                "the first line must be a header with the columns fn, lat, lon");
  const auto header = split_csv_line(header_line);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column[trim_blanks(header[i])] = i;
  for (const char* needed : {"fn", "lat", "lon"}) {
    SATCLIP_CHECK(column.count(needed),
                  cat(path, ": the header has no column '", needed, "' (header: ", header_line, ")"),
                  "the index needs the columns fn, lat and lon, in any order");
  }
  const size_t c_fn = column["fn"], c_lat = column["lat"], c_lon = column["lon"];
  const size_t needed = std::max({c_fn, c_lat, c_lon}) + 1;
  std::vector<IndexRecord> records;
  std::unordered_set<std::string> seen;
  std::string line;
  for (int64_t n = 2; in.next(line); ++n) {
    if (line.empty() || line == "\r") continue;
    const auto f = split_csv_line(line);
    IndexRecord r;
    r.line = n;
    // More fields than the header: most likely decimal commas, which would shift the columns.
    const size_t filled = filled_fields(f);
    if (f.size() < needed || filled > header.size()) {
      r.fn = f.size() > c_fn ? f[c_fn] : "";
      r.problem = cat("line ", n, " has ", f.size() < needed ? f.size() : filled, " fields, the header has ",
                      header.size());
      records.push_back(std::move(r));
      continue;
    }
    r.fn = f[c_fn];
    // Blanks around a number are no part of it (strtod skipped leading ones; so do the coordinates CSVs).
    const bool lat_ok = parse_decimal(trim_blanks(f[c_lat]), r.lat) && std::abs(r.lat) <= 90;
    const bool lon_ok = parse_decimal(trim_blanks(f[c_lon]), r.lon) && std::abs(r.lon) <= 180;
    if (r.fn.empty()) {
      r.problem = "empty fn";
    } else if (!stays_inside(r.fn)) {
      r.problem = "fn outside the images folder (an absolute path, or a '..' in it)";
    } else if (!lat_ok) {
      r.problem = cat("bad latitude '", f[c_lat], "' (expected a number in -90 .. 90)");
    } else if (!lon_ok) {
      r.problem = cat("bad longitude '", f[c_lon], "' (expected a number in -180 .. 180)");
    } else if (!seen.insert(r.fn).second) {
      r.problem = "duplicate fn (an earlier line has the same file)";
    }
    records.push_back(std::move(r));
  }
  SATCLIP_CHECK(!records.empty(), cat(path, ": the index has a header but no records"),
                "check that the download is complete");
  return records;
}

}  // namespace satclip::data
