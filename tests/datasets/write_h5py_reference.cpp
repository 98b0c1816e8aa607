// Test helper: synthesises a small dataset, packs it into 2 shards with gzip (DIR/out-gzip) and
// with shuffle + zstd (DIR/out-zstd), and writes what
// GDAL reads from the GeoTIFFs (expected.u16: pixels in pack order; expected.csv: fn,lat,lon)
// so check_shards_h5py.py can compare h5py's view of the shards with it.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/base/fs_util.h"
#include "datasets/geotiff.h"
#include "datasets/packer.h"
#include "datasets/s2_index.h"
#include "datasets/synth.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_h5py_reference DIR\n");
    return 2;
  }
  namespace fs = std::filesystem;
  using namespace satclip::data;
  const std::string dir = argv[1];
  satclip::remove_tree(dir);
  write_synthetic_dataset(dir + "/src", {9, 32, 11, 2});
  PackOptions o;
  o.index = dir + "/src/index.csv";
  o.images = dir + "/src/images";
  o.shards = 2;
  o.progress = satclip::ProgressStyle::kLines;
  for (const char* compression : {"gzip", "zstd"}) {
    o.out = dir + "/out-" + compression;
    o.compression = compression;
    pack_s2(o);
  }
  std::ofstream pixels(dir + "/expected.u16", std::ios::binary), meta(dir + "/expected.csv");
  meta.precision(17);
  for (const auto& r : read_s2_index(o.index)) {
    const Tile t = read_geotiff(o.images + "/" + r.fn);
    pixels.write(reinterpret_cast<const char*>(t.data.data()), std::streamsize(t.data.size() * 2));
    meta << r.fn << "," << r.lat << "," << r.lon << "\n";
  }
  return 0;
}
