// satclip-pack: packs S2-100k GeoTIFF tiles into HDF5 shards + manifest.json (datasets/packer.h).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <limits>

#include "core/apps/cli.h"
#include "core/base/error.h"
#include "core/base/logging.h"
#include "core/base/text.h"
#include "datasets/manifest.h"
#ifdef SATCLIP_HAVE_GDAL
#include "datasets/packer.h"
#endif
#include "datasets/shard_upgrade.h"
#include "datasets/shard_verify.h"

namespace {

const char* kUsage =
    "usage: satclip-pack --index index.csv --images DIR --out DIR [--shards N]\n"
    "                    [--compression none|gzip[:L]|szip] [--threads T] [--limit N]\n"
    "                    [--progress auto|bar|lines]\n"
    "       satclip-pack --upgrade DIR\n"
    "       satclip-pack --verify DIR [--max-memory MIB] [--timeout S] [--threads T] [--part R/W]\n"
    "\n"
    "Reads index.csv by column name (fn, lat, lon), reads and checks every tile with GDAL in\n"
    "parallel, and writes OUT/shard-<k>-of-<N>.h5, OUT/skipped.csv (fn, reason, detail) and, last,\n"
    "OUT/manifest.json. Bad records (missing, not a regular file, under 10000 bytes, unreadable,\n"
    "wrong band count or size, bad coordinates, duplicate fn) are skipped and counted, never fatal.\n"
    "\n"
    "  --shards N        number of shards (default 1; about 1000-5000 tiles each is a good size)\n"
    "  --compression C   none (default: fastest to read), gzip, gzip:L (L = 1..9), szip\n"
    "  --threads T       reader threads (default: all cores)\n"
    "  --limit N         pack only the first N records\n"
    "  --progress MODE   auto (the default: a bar on a terminal, else lines), bar or lines\n"
    "  --upgrade DIR     convert a shard directory of format version 1 (variable-length strings)\n"
    "                    to version 2 in place; only names and attributes are rewritten (seconds)\n"
    "  --verify DIR      check a shard directory from elsewhere before training on it: every shard\n"
    "                    is opened and every tile read back in its own child process, under a\n"
    "                    memory limit (--max-memory, default 4096 MiB), a CPU and wall-clock limit\n"
    "                    (--timeout, default 600 s per shard) and --threads children at once\n"
    "                    (default: cores, at most 8). Prints one line per shard; exit 0 when all\n"
    "                    are valid, 2 otherwise. A crafted file that crashes or hangs libhdf5 fails\n"
    "                    its own line, never this process. --part R/W checks only the shards whose\n"
    "                    manifest index i has i % W == R (satclip-ddp's data.verify gives rank R of W\n"
    "                    its part).\n"
    "\n"
    "Example (S2-100k into 100 shards, then a check of shards from elsewhere):\n"
    "  satclip-pack --index s2-100k/index.csv --images s2-100k/images --out data/s2-100k-shards --shards 100\n"
    "  satclip-pack --verify data/s2-100k-shards\n";

// --part R/W: 0 <= R < W.
void parse_part(const satclip::cli::Args& args, satclip::data::VerifyOptions& o) {
  if (!args.has("part")) return;
  const std::string text = args.str("part");
  const auto slash = text.find('/');
  int64_t part = -1, parts = 0;  // read as plain integers (core/base/text), then in range
  const bool ok = slash != std::string::npos && satclip::parse_integer(text.substr(0, slash), part) &&
                  satclip::parse_integer(text.substr(slash + 1), parts) && parts >= 1 &&
                  parts <= std::numeric_limits<int>::max() && part >= 0 && part < parts;
  SATCLIP_CHECK(ok, satclip::cat("--part ", text, ": expected R/W with 0 <= R < W, e.g. 0/4"),
                "see satclip-pack --help");
  o.part = static_cast<int>(part);
  o.parts = static_cast<int>(parts);
}

int verify(const satclip::cli::Args& args) {
  const std::string dir = args.required("verify");
  satclip::data::VerifyOptions o;
  o.max_memory_mib = args.integer("max-memory", o.max_memory_mib, 1, satclip::data::kMaxVerifyMemoryMib);
  o.timeout_s = args.integer("timeout", o.timeout_s, 1, satclip::data::kMaxVerifySeconds);
  o.jobs = static_cast<int>(args.integer("threads", 0, 0, 1024));
  parse_part(args, o);
  const auto started = std::chrono::steady_clock::now();
  const auto report = satclip::data::verify_shard_dir(dir, o);
  for (const auto& s : report.shards) std::printf("%s\n", satclip::data::verdict_line(dir, s).c_str());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string part =
      o.parts > 1 ? satclip::cat(" (part ", o.part, "/", o.parts, " of ", report.manifest_shards, ")") : "";
  std::printf("%s: %zu shard(s)%s, %lld tiles read back in %.1f s, each shard in its own process "
              "(limits: %lld MiB, %lld s)\n", dir.c_str(), report.shards.size(), part.c_str(),
              static_cast<long long>(report.tiles()), secs, static_cast<long long>(o.max_memory_mib),
              static_cast<long long>(o.timeout_s));
  std::fflush(stdout);
  SATCLIP_CHECK(report.failed() == 0, satclip::cat(dir, ": ", report.failed(), " of ", report.shards.size(),
                                                   " shard(s) failed verification (listed above)"),
                "do not train on this directory: pack it again from the source tiles, or ask its sender for "
                "an intact copy");
  return 0;
}

int body(int argc, char** argv) {
  satclip::cli::Args args(argc, argv,
                          {"index", "images", "out", "shards", "compression", "threads", "limit", "progress", "upgrade",
                           "verify", "max-memory", "timeout", "part"});
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
  if (args.has("verify")) return verify(args);
#ifdef SATCLIP_HAVE_GDAL
  satclip::data::PackOptions o;
  o.index = args.required("index");
  o.images = args.required("images");
  o.out = args.required("out");
  o.shards = static_cast<int>(args.integer("shards", 1, 1, 100000));
  o.compression = args.str("compression", "none");
  o.threads = static_cast<int>(args.integer("threads", 0, 0, 1024));
  o.limit = args.integer("limit", 0, 0, INT64_MAX);
  o.progress = args.choice("progress", satclip::ProgressStyle::kAuto);
  const auto report = satclip::data::pack_s2(o);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%s\npeak memory %.1f MB\nwrote %s/manifest.json\n", report.summary().c_str(),
              usage.ru_maxrss / 1024.0, o.out.c_str());
#else
  SATCLIP_FAIL("this satclip-pack was built without GDAL, which packing GeoTIFF tiles needs",
               "install libgdal-dev and rebuild (scripts/setup.sh does); --verify and --upgrade work without it");
#endif
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-pack", body, argc, argv); }
