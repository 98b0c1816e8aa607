// The S2-100k index: `index.csv` with at least the columns fn, lat, lon (any order, other
// columns ignored; an example header is `lat,lon,url,fn`).
#pragma once

#include <string>
#include <vector>

namespace satclip::data {

struct IndexRecord {
  std::string fn;  // file name under images/
  double lat = 0;
  double lon = 0;
  int64_t line = 0;        // 1-based line in index.csv
  std::string problem;     // non-empty: why this record cannot be used (bad coordinate, ...)
};

// Reads `path`. Structural problems (missing file, missing column, no records) throw
// satclip::Error naming the file; problems of single records are left in IndexRecord::problem
// so a packer can skip and report them.
std::vector<IndexRecord> read_s2_index(const std::string& path);

}  // namespace satclip::data
