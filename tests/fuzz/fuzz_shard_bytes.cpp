// Fuzz target (bytes level): ShardedDataset::open on a byte-mutated HDF5 shard, then a read
// of every record it accepted. The manifest is fixed: 4 tiles of 12 x 16 x 16, as the seed shard
// in corpus/shard_bytes/ (made by satclip-synth: 4 tiles, 16 px, no compression). Mutating the
// HDF5 structure mostly exercises libhdf5 itself, whose 1.10 reader hangs or allocates GBs on some
// crafted global heaps (tests/fuzz/hdf5-known/); fuzz_shard drives the validator structurally.
#include <sys/stat.h>

#include <fstream>

#include "core/base/fs_util.h"
#include "datasets/dataset.h"
#include "tests/fuzz/shard_target.h"

namespace {

constexpr const char* kManifest = R"({
  "format": "satclip-s2-shards",
  "version": 2,
  "bands": ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"],
  "channels": 12,
  "height": 16,
  "width": 16,
  "dtype": "uint16",
  "compression": "none",
  "source_index": "synthetic",
  "count": 4,
  "skipped": 0,
  "shards": [
    {"file": "shard-0-of-1.h5", "count": 4}
  ]
}
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char tmpl[] = "/tmp/satclip-fuzz-shard-XXXXXX";
  if (!::mkdtemp(tmpl)) std::abort();
  const std::string dir = tmpl;
  std::ofstream(dir + "/manifest.json") << kManifest;
  std::ofstream(dir + "/shard-0-of-1.h5", std::ios::binary).write(reinterpret_cast<const char*>(data), size);
  satclip::fuzz::open_read_all_and_remove(dir);
  return 0;
}
