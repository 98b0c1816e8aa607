// Packing S2-100k GeoTIFF tiles into HDF5 shards (the library behind satclip-pack).
//
// Tiles are read (from a folder or from tar archives in place, tile_source.h) and checked by worker
// threads and written in index order by one writer, through a bounded window, so memory stays flat
// whatever the dataset size. Bad records never stop the run: they are counted by reason and listed
// in OUT/skipped.csv. Shards are written under temporary names and renamed when complete, and each
// finished shard is recorded in OUT/.pack/ (pack_state.h): a pack killed at any moment continues
// with `resume`, and `part`/`parts` pack every parts-th shard so that several processes share the
// work; manifest.json is written last, when every shard is there.
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
  std::string images;       // tile folder, .tar archive(s) or a folder of them (tile_source.h)
  std::string out;          // output folder
  int shards = 1;
  std::string compression = "zstd";  // see Compression::parse; docs/data.md has the figures
  int threads = 0;          // 0: hardware concurrency
  int64_t limit = 0;        // 0: every record
  bool resume = false;      // continue the unfinished pack in `out`
  int part = 0, parts = 1;  // pack shards k with k % parts == part; parts > 1 leaves the merge
  ProgressStyle progress = ProgressStyle::kAuto;  // auto: a bar on a terminal, periodic lines otherwise
};

struct PackReport {
  int64_t records = 0;  // index records considered
  int64_t packed = 0;
  std::map<std::string, int64_t> skipped;  // reason -> count
  int shards_total = 0, shards_this_run = 0, shards_before = 0;  // before: found finished at start
  int shards_missing = 0;                  // after this run (other parts' shards)
  bool complete = false;                   // manifest.json written
  std::string out;
  int channels = 0, height = 0, width = 0;
  double seconds = 0;
  int64_t skipped_total() const;
  std::string summary() const;
};

PackReport pack_s2(const PackOptions& options);

// satclip-pack --merge: the manifest of a pack whose parts are all finished (pack_state.h).
PackReport merge_pack(const std::string& out);

}  // namespace satclip::data
