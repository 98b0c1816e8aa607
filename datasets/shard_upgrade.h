// satclip-pack --upgrade: converts a version 1 shard directory to version 2 in place. Version 1
// stored /fn and the `format` and `bands` attributes as variable-length strings; version 2 stores
// fixed-length strings, so that readers never touch HDF5's global heap (see h5_util.h). Only the
// names and attributes are rewritten, never the tiles: seconds for S2-100k.
#pragma once

#include <string>

namespace satclip::data {

struct UpgradeReport {
  int shards_upgraded = 0;
  int shards_already_current = 0;
  bool manifest_upgraded = false;
};

// Upgrades every shard listed in DIR/manifest.json, then the manifest (written last, atomically).
// Safe to run again after an interruption: shards already at version 2 are skipped. Reads the
// version 1 strings, so use it on directories you packed yourself or trust.
UpgradeReport upgrade_shard_dir(const std::string& dir);

}  // namespace satclip::data
