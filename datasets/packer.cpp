#include "datasets/packer.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/ordered_work.h"
#include "core/base/text.h"
#include "datasets/geotiff.h"
#include "datasets/h5_shards.h"
#include "datasets/pack_state.h"
#include "datasets/s2_index.h"
#include "datasets/synth.h"
#include "datasets/tile_source.h"

namespace fs = std::filesystem;

namespace satclip::data {
namespace {

// What a worker found for one record.
struct Item {
  std::string reason, detail;  // empty reason: ok
  Tile tile;
  std::vector<uint8_t> encoded;  // the tile's chunk, when the compression is done off HDF5
};

struct Shape {
  int bands = 0, height = 0, width = 0;
};

std::string index_problem_reason(const std::string& problem) {
  return starts_with(problem, "duplicate")    ? "duplicate fn"
         : starts_with(problem, "line")       ? "malformed index line"
         : problem == "empty fn"              ? "empty fn"
         : starts_with(problem, "fn outside") ? "fn outside the images folder"
                                              : "bad coordinate";
}

// Reads and checks one record against the dataset's shape.
void examine(const IndexRecord& r, const TileSource& source, const Shape& shape, const Compression& comp,
             Item& item) {
  if (!r.problem.empty()) {
    item.reason = index_problem_reason(r.problem);
    item.detail = r.problem;
    return;
  }
  const TileSource::Found found = source.find(r.fn);
  if (!found.ok()) {
    item.reason = found.reason;
    item.detail = found.detail;
    return;
  }
  if (int64_t(found.bytes) < kMinTileBytes) {
    item.reason = "file under 10000 bytes";
    item.detail = std::to_string(found.bytes) + " bytes";
    return;
  }
  try {
    item.tile = source.read(found);
  } catch (const Error& e) {
    item.reason = "unreadable GeoTIFF";
    item.detail = e.message();
    return;
  } catch (const std::bad_alloc&) {  // a header claiming absurd dimensions
    item.reason = "unreadable GeoTIFF";
    item.detail = "its header asks for more memory than there is";
    return;
  }
  const Tile& t = item.tile;
  if (t.bands != shape.bands) {
    item.reason = "wrong band count";
    item.detail = cat(t.bands, " bands, expected ", shape.bands);
  } else if (t.height != shape.height || t.width != shape.width) {
    item.reason = "wrong tile size";
    item.detail = cat(t.width, "x", t.height, ", expected ", shape.width, "x", shape.height);
  }
  if (!item.reason.empty()) {
    item.tile = Tile();
    return;
  }
  item.encoded = encode_tile(comp, t.data.data(), t.data.size() * sizeof(uint16_t));
}

// The shape of the dataset: that of the first record whose file reads as a 12- or 13-band tile.
Shape probe_shape(const std::vector<IndexRecord>& records, const TileSource& source, const std::string& images) {
  for (const auto& r : records) {
    if (!r.problem.empty()) continue;
    const auto found = source.find(r.fn);
    if (!found.ok() || int64_t(found.bytes) < kMinTileBytes) continue;
    try {
      const Tile t = source.read(found);
      if (t.bands == 12 || t.bands == 13) return {t.bands, t.height, t.width};
    } catch (const std::exception&) {
    }
  }
  SATCLIP_FAIL(cat("no readable 12- or 13-band tile in ", images),
               "check --images: the tile folder, or the .tar archives, holding the files named in index.csv's "
               "fn column");
}

// One CSV field on one line: quoted when needed, line breaks turned into spaces.
std::string csv_field(const std::string& s) {
  std::string flat = s;
  for (auto& c : flat) if (c == '\n' || c == '\r') c = ' ';
  if (flat.find_first_of(",\"") == std::string::npos) return flat;
  std::string out = "\"";
  for (char c : flat) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

class Progress {
 public:
  Progress(int64_t total, ProgressStyle style)
      : total_(total), bar_(style == ProgressStyle::kBar || (style == ProgressStyle::kAuto && isatty(2))) {}
  void update(int64_t done, int64_t skipped) {
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    const bool end = done == total_;
    if (bar_ ? (since < 0.2 && !end) : (since < 30 && !end && done * 10 / total_ == shown_ * 10 / total_)) return;
    last_ = now;
    shown_ = done;
    const double pct = total_ ? 100.0 * done / total_ : 100.0;
    const double rate = done / std::max(1e-9, std::chrono::duration<double>(now - start_).count());
    if (bar_) {
      const int filled = static_cast<int>(pct / 100 * 30);
      std::fprintf(stderr, "\r[%s%s] %5.1f%% %lld/%lld tiles, %lld skipped, %.0f tiles/s%s",
                   std::string(filled, '#').c_str(), std::string(30 - filled, '.').c_str(), pct,
                   (long long)done, (long long)total_, (long long)skipped, rate, end ? "\n" : "");
    } else {
      std::fprintf(stderr, "packed %lld/%lld records (%.0f%%), %lld skipped, %.0f tiles/s\n", (long long)done,
                   (long long)total_, pct, (long long)skipped, rate);
    }
  }

 private:
  int64_t total_, shown_ = 0;
  bool bar_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_ = start_;
};

}  // namespace

int64_t PackReport::skipped_total() const {
  int64_t n = 0;
  for (const auto& [reason, count] : skipped) n += count;
  return n;
}

std::string PackReport::summary() const {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", seconds);
  std::string s;
  if (complete) {
    s = cat("packed ", packed, " of ", records, " records into ", shards_total, " shard(s) of ", channels, "x", height,
            "x", width, " tiles in ", secs, " s; skipped ", skipped_total());
  } else {
    s = cat("packed ", shards_this_run, " shard(s) (", packed, " tiles, ", skipped_total(), " records skipped) in ",
            secs, " s; ", shards_total - shards_missing, " of ", shards_total, " shards are packed");
  }
  if (shards_before) s += cat(" (", shards_before, " shard(s) were already packed)");
  for (const auto& [reason, count] : skipped) s += cat("\n  ", reason, ": ", count);
  if (!complete) {
    s += shards_missing ? cat("\nwhen every part is done: satclip-pack --merge ", out)
                        : cat("\nevery shard is packed: satclip-pack --merge ", out, " writes the manifest");
  }
  return s;
}

namespace {

std::string absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

void add_totals(PackReport& report, const PackTotals& totals) {
  report.packed = totals.packed;
  report.skipped = totals.skipped;
  report.complete = true;
}

// What this pack is (pack_state.h): a resumed pack and every part must match it.
PackPlan plan_of(const PackOptions& o, const TileSource& source, const Compression& comp, int64_t records,
                 const Shape& shape) {
  PackPlan plan;
  plan.index = absolute(o.index);
  const FileDigest digest = file_digest(o.index);
  plan.index_digest = cat(digest.size, ":", hex16(digest.hash));
  plan.images = source.identity();
  plan.shards = o.shards;
  plan.compression = comp.str();
  plan.limit = o.limit;
  plan.records = records;
  plan.channels = shape.bands;
  plan.height = shape.height;
  plan.width = shape.width;
  return plan;
}

// Shard k's records: [n*k/N, n*(k+1)/N).
int64_t shard_begin(int64_t n, int k, int shards) { return n * k / shards; }

// Writes shard k from the next items of `work`, in index order; the shard's record for .pack/.
ShardRecord write_shard(const std::string& path, int64_t begin, int64_t end, const std::vector<IndexRecord>& records,
                        const Shape& shape, const Compression& comp, OrderedWork<Item>& work, Progress& progress,
                        int64_t& done, int64_t& skipped) {
  std::vector<std::string> band_names(kS2BandNames, kS2BandNames + kS2Bands);
  if (shape.bands == 13) band_names.insert(band_names.begin() + 10, "B10");
  ShardWriter writer(path, shape.bands, shape.height, shape.width, band_names, comp);
  ShardRecord record;
  for (int64_t i = begin; i < end; ++i) {
    const Item item = work.next();
    const IndexRecord& r = records[size_t(i)];
    if (item.reason.empty()) {
      writer.append(item.tile.data.data(), item.encoded.empty() ? nullptr : &item.encoded, r.lat, r.lon, r.fn);
      ++record.packed;
    } else {
      ++record.skipped[item.reason];
      record.rows.push_back(csv_field(r.fn) + "," + csv_field(item.reason) + "," + csv_field(item.detail));
      ++skipped;
    }
    progress.update(++done, skipped);
  }
  writer.finish();
  return record;
}

}  // namespace

PackReport pack_s2(const PackOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  SATCLIP_CHECK(o.shards >= 1, cat("--shards ", o.shards, " must be at least 1"), "");
  SATCLIP_CHECK(o.parts >= 1 && o.part >= 0 && o.part < o.parts,
                cat("--part ", o.part, "/", o.parts, ": expected R/W with 0 <= R < W"), "");
  const Compression comp = Compression::parse(o.compression);
  const int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  const TileSource source(o.images, threads);
  spdlog::info("{}", source.describe());
  for (const auto& d : source.damage()) spdlog::warn("damaged archive {} (the tiles before the damage are packed)", d);
  auto records = read_s2_index(o.index);
  if (o.limit > 0 && int64_t(records.size()) > o.limit) records.resize(o.limit);
  const int64_t n = static_cast<int64_t>(records.size());
  const Shape shape = probe_shape(records, source, o.images);
  fs::create_directories(o.out);
  SATCLIP_CHECK(!fs::exists(fs::path(o.out) / "manifest.json") || (o.resume && fs::exists(fs::path(o.out) / ".pack")),
                cat(o.out, " already holds a packed dataset (manifest.json)"),
                "choose an empty --out folder or delete the old shards first");
  const PackPlan plan = plan_of(o, source, comp, n, shape);
  const PackState state(o.out, plan, o.resume, o.parts > 1);

  PackReport report;
  report.records = n;
  report.channels = shape.bands;
  report.height = shape.height;
  report.width = shape.width;
  report.shards_total = o.shards;
  report.out = o.out;
  // This run's shards (this part's, not yet finished) and, in order, the records they hold.
  std::vector<int> todo;
  std::vector<int64_t> todo_records;
  for (int k = o.part; k < o.shards; k += o.parts) {
    if (state.done(k)) {
      ++report.shards_before;
      continue;
    }
    todo.push_back(k);
    for (int64_t i = shard_begin(n, k, o.shards); i < shard_begin(n, k + 1, o.shards); ++i) todo_records.push_back(i);
  }
  if (report.shards_before) spdlog::info("{} shard(s) already packed; packing {} more", report.shards_before, todo.size());
  // Records are read and checked on `threads` workers, at most 4 per thread ahead of the writer.
  OrderedWork<Item> work(int64_t(todo_records.size()), threads, int64_t(threads) * 4, [&](int64_t j) {
    Item item;
    examine(records[size_t(todo_records[size_t(j)])], source, shape, comp, item);
    return item;
  });
  Progress progress(int64_t(todo_records.size()), o.progress);
  int64_t done = 0, skipped = 0;
  for (const int k : todo) {
    const ShardRecord record = write_shard((fs::path(o.out) / state.shard_name(k)).string(), shard_begin(n, k, o.shards),
                                           shard_begin(n, k + 1, o.shards), records, shape, comp, work, progress, done,
                                           skipped);
    state.mark_done(k, record);
    ++report.shards_this_run;
    report.packed += record.packed;
    for (const auto& [reason, count] : record.skipped) report.skipped[reason] += count;
  }
  report.shards_missing = int(missing_shards(o.out, plan).size());
  if (o.parts == 1) add_totals(report, finish_pack(o.out));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

PackReport merge_pack(const std::string& out) {
  const auto start = std::chrono::steady_clock::now();
  SATCLIP_CHECK(!fs::exists(fs::path(out) / "manifest.json") || fs::exists(fs::path(out) / ".pack"),
                cat(out, " is already merged (it holds manifest.json and no unfinished pack)"),
                "train on it; satclip-pack --verify checks it");
  const PackPlan plan = read_pack_plan(out);
  PackReport report;
  report.records = plan.records;
  report.channels = plan.channels;
  report.height = plan.height;
  report.width = plan.width;
  report.shards_total = plan.shards;
  report.out = out;
  add_totals(report, finish_pack(out));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace satclip::data
