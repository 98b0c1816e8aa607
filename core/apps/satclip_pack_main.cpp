// satclip-pack: packs S2-100k GeoTIFF tiles into HDF5 shards + manifest.json (datasets/packer.h).
#include <sys/resource.h>

#include <cstdio>

#include "core/apps/cli.h"
#include "core/base/error.h"
#include "core/base/logging.h"
#include "datasets/manifest.h"
#include "datasets/packer.h"
#include "datasets/shard_upgrade.h"

namespace {

const char* kUsage =
    "usage: satclip-pack --index index.csv --images DIR --out DIR [--shards N]\n"
    "                    [--compression none|gzip[:L]|szip] [--threads T] [--limit N]\n"
    "                    [--progress bar|lines]\n"
    "       satclip-pack --upgrade DIR\n"
    "\n"
    "Reads index.csv by column name (fn, lat, lon), reads and checks every tile with GDAL in\n"
    "parallel, and writes OUT/shard-<k>-of-<N>.h5, OUT/skipped.csv (fn, reason, detail) and, last,\n"
    "OUT/manifest.json. Bad records (missing, under 10000 bytes, unreadable, wrong band count or\n"
    "size, bad coordinates, duplicate fn) are skipped and counted, never fatal.\n"
    "\n"
    "  --shards N        number of shards (default 1; about 1000-5000 tiles each is a good size)\n"
    "  --compression C   none (default: fastest to read), gzip, gzip:L (L = 1..9), szip\n"
    "  --threads T       reader threads (default: all cores)\n"
    "  --limit N         pack only the first N records\n"
    "  --progress MODE   bar (default on a terminal) or lines\n"
    "  --upgrade DIR     convert a shard directory of format version 1 (variable-length strings)\n"
    "                    to version 2 in place; only names and attributes are rewritten (seconds)\n";

int body(int argc, char** argv) {
  satclip::cli::Args args(argc, argv,
                          {"index", "images", "out", "shards", "compression", "threads", "limit", "progress", "upgrade"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  satclip::init_logging({});
  if (args.has("upgrade")) {
    const std::string dir = args.required("upgrade");
    const auto r = satclip::data::upgrade_shard_dir(dir);
    std::printf("%s: %d shard(s) upgraded to version %d, %d already current%s\n", dir.c_str(), r.shards_upgraded,
                satclip::data::kShardVersion, r.shards_already_current,
                r.manifest_upgraded ? ", manifest.json rewritten" : "");
    return 0;
  }
  satclip::data::PackOptions o;
  o.index = args.required("index");
  o.images = args.required("images");
  o.out = args.required("out");
  o.shards = static_cast<int>(args.integer("shards", 1, 1, 100000));
  o.compression = args.str("compression", "none");
  o.threads = static_cast<int>(args.integer("threads", 0, 0, 1024));
  o.limit = args.integer("limit", 0, 0, INT64_MAX);
  const std::string progress = args.str("progress", "");
  SATCLIP_CHECK(progress.empty() || progress == "bar" || progress == "lines",
                "--progress must be bar or lines", "");
  o.progress = progress.empty() ? -1 : progress == "bar" ? 1 : 0;
  const auto report = satclip::data::pack_s2(o);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%s\npeak memory %.1f MB\nwrote %s/manifest.json\n", report.summary().c_str(),
              usage.ru_maxrss / 1024.0, o.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-pack", body, argc, argv); }
