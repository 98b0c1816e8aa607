// Packing S2-100k GeoTIFF tiles into HDF5 shards (the library behind satclip-pack).
//
// Tiles are read and checked by worker threads and written in index order by one writer, through
// a bounded window, so memory stays flat whatever the dataset size. Bad records never stop the
// run: they are counted by reason and listed in OUT/skipped.csv. Shards are written under
// temporary names and renamed when complete; manifest.json is written last.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/base/options.h"

namespace satclip::data {

constexpr int64_t kMinTileBytes = 10000;  // SatCLIP's rule: smaller files are broken downloads

struct PackOptions {
  std::string index;        // index.csv
  std::string images;       // folder with the tiles named in the fn column
  std::string out;          // output folder
  int shards = 1;
  std::string compression = "none";
  int threads = 0;          // 0: hardware concurrency
  int64_t limit = 0;        // 0: every record
  ProgressStyle progress = ProgressStyle::kAuto;  // auto: a bar on a terminal, periodic lines otherwise
};

struct PackReport {
  int64_t records = 0;  // index records considered
  int64_t packed = 0;
  std::map<std::string, int64_t> skipped;  // reason -> count
  int channels = 0, height = 0, width = 0;
  double seconds = 0;
  int64_t skipped_total() const;
  std::string summary() const;
};

PackReport pack_s2(const PackOptions& options);

}  // namespace satclip::data
