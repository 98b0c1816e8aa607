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
    "usage: satclip-pack --index index.csv --images DIR|TARS --out DIR [--shards N]\n"
    "                    [--compression none|gzip[:L]|szip|zstd[:L]] [--threads T] [--limit N]\n"
    "                    [--resume] [--part R/W] [--progress auto|bar|lines]\n"
    "       satclip-pack --merge DIR\n"
    "       satclip-pack --upgrade DIR\n"
    "       satclip-pack --verify DIR [--max-memory MIB] [--timeout S] [--threads T] [--part R/W]\n"
    "\n"
    "Reads index.csv by column name (fn, lat, lon), reads and checks every tile with GDAL in\n"
    "parallel, and writes OUT/shard-<k>-of-<N>.h5, OUT/skipped.csv (fn, reason, detail) and, last,\n"
    "OUT/manifest.json. Bad records (missing, not a regular file, under 10000 bytes, unreadable,\n"
    "wrong band count or size, bad coordinates, duplicate fn, truncated archive) are skipped and\n"
    "counted, never fatal.\n"
    "\n"
    "  --images X        the tile folder (fn is a path under it), or the tar archives S2-100k is\n"
    "                    published as, read in place without extracting: a folder holding .tar files\n"
    "                    (and no .tif files), one .tar file, or .tar files separated by commas; with\n"
    "                    archives, fn's file name (patch_N.tif) names the member\n"
    "  --shards N        number of shards (default 1; about 1000-5000 tiles each is a good size)\n"
    "  --compression C   zstd (the default: byte shuffle + Zstandard level 3; 2.4x smaller than\n"
    "                    none, decoded at about 1000 tiles/s per core, faster than none from disk;\n"
    "                    h5py reads it after `import hdf5plugin`), zstd:L (L = 1..19), none\n"
    "                    (fastest from the page cache), gzip, gzip:L (L = 1..9), szip.\n"
    "                    docs/data.md has the figures\n"
    "  --threads T       reader threads (default: all cores)\n"
    "  --limit N         pack only the first N records\n"
    "  --resume          continue the unfinished pack in --out (killed, out of time, ...) with the\n"
    "                    same options: finished shards are kept, the rest packed; the result is\n"
    "                    byte-identical to an uninterrupted pack\n"
    "  --part R/W        pack only the shards k with k % W == R (0 <= R < W), so that W processes\n"
    "                    share the work in one --out; then satclip-pack --merge OUT writes the\n"
    "                    manifest. With --resume, a part continues its own shards\n"
    "  --merge DIR       once every part is done: write DIR/skipped.csv and DIR/manifest.json\n"
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
    "Examples (S2-100k from its archives into 100 shards; the same in 8 parts as a SLURM array or\n"
    "as MPI ranks, then the merge; a check of shards from elsewhere):\n"
    "  satclip-pack --index s2-100k/index.csv --images s2-100k/data --out data/s2 --shards 100\n"
    "  sbatch --array=0-7 --wrap 'satclip-pack --index s2-100k/index.csv --images s2-100k/data --out data/s2 "
    "--shards 100 --part $SLURM_ARRAY_TASK_ID/8'\n"
    "  mpirun -n 8 sh -c 'satclip-pack --index s2-100k/index.csv --images s2-100k/data --out data/s2 "
    "--shards 100 --part $OMPI_COMM_WORLD_RANK/8'\n"
    "  satclip-pack --merge data/s2\n"
    "  satclip-pack --verify data/s2\n";

// --part R/W: 0 <= R < W.
void parse_part(const satclip::cli::Args& args, int& o_part, int& o_parts) {
  if (!args.has("part")) return;
  const std::string text = args.str("part");
  const auto slash = text.find('/');
  int64_t part = -1, parts = 0;  // read as plain integers (core/base/text), then in range
  const bool ok = slash != std::string::npos && satclip::parse_integer(text.substr(0, slash), part) &&
                  satclip::parse_integer(text.substr(slash + 1), parts) && parts >= 1 &&
                  parts <= std::numeric_limits<int>::max() && part >= 0 && part < parts;
  SATCLIP_CHECK(ok, satclip::cat("--part ", text, ": expected R/W with 0 <= R < W, e.g. 0/4"),
                "see satclip-pack --help");
  o_part = static_cast<int>(part);
  o_parts = static_cast<int>(parts);
}

int verify(const satclip::cli::Args& args) {
  const std::string dir = args.required("verify");
  satclip::data::VerifyOptions o;
  o.max_memory_mib = args.integer("max-memory", o.max_memory_mib, 1, satclip::data::kMaxVerifyMemoryMib);
  o.timeout_s = args.integer("timeout", o.timeout_s, 1, satclip::data::kMaxVerifySeconds);
  o.jobs = static_cast<int>(args.integer("threads", 0, 0, 1024));
  parse_part(args, o.part, o.parts);
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
                           "verify", "max-memory", "timeout", "part", "merge"},
                          {"resume"});
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
  if (args.has("merge")) {
    const std::string dir = args.required("merge");
    const auto report = satclip::data::merge_pack(dir);
    std::printf("%s\nwrote %s/manifest.json\n", report.summary().c_str(), dir.c_str());
    return 0;
  }
#ifdef SATCLIP_HAVE_GDAL
  satclip::data::PackOptions o;
  o.index = args.required("index");
  o.images = args.required("images");
  o.out = args.required("out");
  o.shards = static_cast<int>(args.integer("shards", 1, 1, 100000));
  o.compression = args.str("compression", "zstd");
  o.threads = static_cast<int>(args.integer("threads", 0, 0, 1024));
  o.limit = args.integer("limit", 0, 0, INT64_MAX);
  o.progress = args.choice("progress", satclip::ProgressStyle::kAuto);
  o.resume = args.has("resume");
  parse_part(args, o.part, o.parts);
  const auto report = satclip::data::pack_s2(o);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%s\npeak memory %.1f MB\n", report.summary().c_str(), usage.ru_maxrss / 1024.0);
  if (report.complete) std::printf("wrote %s/manifest.json\n", o.out.c_str());
#else
  SATCLIP_FAIL("this satclip-pack was built without GDAL, which packing GeoTIFF tiles needs",
               "install libgdal-dev and rebuild (scripts/setup.sh does); --verify and --upgrade work without it");
#endif
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-pack", body, argc, argv); }
