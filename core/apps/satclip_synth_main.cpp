// satclip-synth: writes a synthetic dataset in the exact S2-100k layout (see datasets/synth.h).
#include <cstdio>

#include "core/apps/cli.h"
#include "core/base/error.h"
#include "datasets/synth.h"

namespace {

const char* kUsage =
    "usage: satclip-synth --count N --out DIR [--size PX] [--seed S] [--threads T] [--shards K]\n"
    "\n"
    "Writes DIR/index.csv (lat,lon,url,fn) and DIR/images/patch_<i>.tif: uint16 GeoTIFFs with the 12\n"
    "S2-100k bands, LZW + predictor 2, internally tiled, EPSG:4326. Pixels are a deterministic\n"
    "function of the location that follows the real world (Natural Earth's land, sea and countries,\n"
    "the stations' climate) plus texture; about half the locations are on land.\n"
    "\n"
    "  --count N     tiles to write (required)\n"
    "  --out DIR     output folder (required)\n"
    "  --size PX     tile size, a multiple of 16 (default 256, as S2-100k)\n"
    "  --seed S      locations and texture (default 0)\n"
    "  --threads T   writer threads (default: all cores)\n"
    "  --shards K    write K packed HDF5 shards + manifest.json instead of GeoTIFFs (no GDAL needed)\n"
    "\n"
    "Example (2,000 tiles of 64 px as two packed shards):\n"
    "  satclip-synth --count 2000 --size 64 --shards 2 --out data/synth\n";

int body(int argc, char** argv) {
  satclip::cli::Args args(argc, argv, {"count", "out", "size", "seed", "threads", "shards"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  SATCLIP_CHECK(args.positional().empty(), "unexpected argument '" + (args.positional().empty() ? "" : args.positional()[0]) + "'",
                "see --help");
  satclip::data::SynthOptions o;
  o.count = args.integer("count", 0, 1, 100'000'000);
  SATCLIP_CHECK(args.has("count"), "missing option --count", "e.g. --count 1000");
  const std::string out = args.required("out");
  o.size = static_cast<int>(args.integer("size", 256, 8, 4096));
  o.seed = static_cast<uint64_t>(args.integer("seed", 0, 0, INT64_MAX));
  o.threads = static_cast<int>(args.integer("threads", 0, 0, 1024));
  if (args.has("shards")) {
    satclip::data::write_synthetic_shards(out, o, static_cast<int>(args.integer("shards", 1, 1, 100000)));
    std::printf("wrote %lld synthetic tiles (%d px) as shards to %s\n", (long long)o.count, o.size, out.c_str());
    return 0;
  }
#ifdef SATCLIP_HAVE_GDAL
  satclip::data::write_synthetic_dataset(out, o);
  std::printf("wrote %lld synthetic tiles (%d px) to %s/index.csv and %s/images/\n", (long long)o.count, o.size,
              out.c_str(), out.c_str());
  return 0;
#else
  SATCLIP_FAIL("this build has no GDAL, so it cannot write GeoTIFFs",
               "use --shards K to write packed shards directly, or rebuild with libgdal-dev installed");
#endif
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-synth", body, argc, argv); }
