// manifest.json: what a packed shard directory holds. Written last by satclip-pack, so a
// directory with a manifest is complete.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace satclip::data {

constexpr const char* kShardFormat = "satclip-s2-shards";
// Version 2 (fixed-length strings only) replaced version 1 (variable-length strings, which live
// in HDF5's global heap: libhdf5 1.10 hangs or allocates GBs on crafted ones).
constexpr int kShardVersion = 2;
constexpr const char* kUpgradeHint =
    "version 1 shard directories are converted in place, in seconds, by: satclip-pack --upgrade DIR";

struct ShardEntry {
  std::string file;  // relative to the manifest's directory
  int64_t count = 0;
};

struct Manifest {
  std::string format = kShardFormat;
  int version = kShardVersion;
  std::vector<std::string> bands;
  int channels = 0, height = 0, width = 0;
  std::string dtype = "uint16";
  std::string compression = "none";
  std::string source_index;
  int64_t count = 0;    // tiles in all shards
  int64_t skipped = 0;  // index records not packed (see skipped.csv)
  std::vector<ShardEntry> shards;
};

// Writes `m` as JSON to `path` (through a temporary file and a rename).
void write_manifest(const std::string& path, const Manifest& m);

// Reads and checks a manifest; errors name the file and the key. `also_version_1` (for
// satclip-pack --upgrade only) accepts a version 1 manifest too.
Manifest read_manifest(const std::string& path, bool also_version_1 = false);

}  // namespace satclip::data
