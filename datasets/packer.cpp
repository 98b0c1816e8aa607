#include "datasets/packer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/ordered_work.h"
#include "core/base/text.h"
#include "datasets/geotiff.h"
#include "datasets/h5_shards.h"
#include "datasets/s2_index.h"
#include "datasets/synth.h"

namespace fs = std::filesystem;

namespace satclip::data {
namespace {

// What a worker found for one record.
struct Item {
  std::string reason, detail;  // empty reason: ok
  Tile tile;
  std::vector<uint8_t> deflated;
};

struct Shape {
  int bands = 0, height = 0, width = 0;
};

// Reads and checks one record against the dataset's shape.
void examine(const IndexRecord& r, const std::string& images, const Shape& shape, const Compression& comp,
             Item& item) {
  if (!r.problem.empty()) {
    item.reason = starts_with(r.problem, "duplicate")    ? "duplicate fn"
                  : starts_with(r.problem, "line")       ? "malformed index line"
                  : r.problem == "empty fn"              ? "empty fn"
                  : starts_with(r.problem, "fn outside") ? "fn outside the images folder"
                                                         : "bad coordinate";
    item.detail = r.problem;
    return;
  }
  const fs::path p = fs::path(images) / r.fn;
  std::error_code ec;
  const auto status = fs::status(p, ec);
  if (ec || !fs::exists(status)) {
    item.reason = "missing file";
    item.detail = p.string();
    return;
  }
  if (!fs::is_regular_file(status)) {  // a FIFO would block GDAL forever
    item.reason = "not a regular file";
    item.detail = p.string();
    return;
  }
  const auto bytes = fs::file_size(p, ec);
  if (int64_t(bytes) < kMinTileBytes) {
    item.reason = "file under 10000 bytes";
    item.detail = std::to_string(bytes) + " bytes";
    return;
  }
  try {
    item.tile = read_geotiff(p.string());
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
  if (comp.kind == Compression::Kind::kGzip) {
    item.deflated = deflate_bytes(t.data.data(), t.data.size() * sizeof(uint16_t), comp.level);
  }
}

// The shape of the dataset: that of the first record whose file reads as a 12- or 13-band tile.
Shape probe_shape(const std::vector<IndexRecord>& records, const std::string& images) {
  for (const auto& r : records) {
    if (!r.problem.empty()) continue;
    const fs::path p = fs::path(images) / r.fn;
    std::error_code ec;
    if (!fs::exists(p, ec) || int64_t(fs::file_size(p, ec)) < kMinTileBytes) continue;
    try {
      const Tile t = read_geotiff(p.string());
      if (t.bands == 12 || t.bands == 13) return {t.bands, t.height, t.width};
    } catch (const std::exception&) {
    }
  }
  SATCLIP_FAIL(cat("no readable 12- or 13-band tile in ", images),
               "check --images: it must be the folder holding the files named in index.csv's fn column");
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
  std::string s = cat("packed ", packed, " of ", records, " records into ", channels, "x", height, "x", width,
                      " tiles in ", secs, " s; skipped ", skipped_total());
  for (const auto& [reason, count] : skipped) s += cat("\n  ", reason, ": ", count);
  return s;
}

PackReport pack_s2(const PackOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  SATCLIP_CHECK(o.shards >= 1, cat("--shards ", o.shards, " must be at least 1"), "");
  SATCLIP_CHECK(fs::is_directory(o.images), cat(o.images, ": no such folder"), "--images must be the tile folder");
  const Compression comp = Compression::parse(o.compression);
  auto records = read_s2_index(o.index);
  if (o.limit > 0 && int64_t(records.size()) > o.limit) records.resize(o.limit);
  const Shape shape = probe_shape(records, o.images);
  fs::create_directories(o.out);
  SATCLIP_CHECK(!fs::exists(fs::path(o.out) / "manifest.json"),
                cat(o.out, " already holds a packed dataset (manifest.json)"),
                "choose an empty --out folder or delete the old shards first");

  const int64_t n = static_cast<int64_t>(records.size());
  const int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  // Records are read and checked on `threads` workers, at most 4 per thread ahead of the writer.
  OrderedWork<Item> work(n, threads, int64_t(threads) * 4, [&](int64_t j) {
    Item item;
    examine(records[size_t(j)], o.images, shape, comp, item);
    return item;
  });

  PackReport report;
  report.records = n;
  report.channels = shape.bands;
  report.height = shape.height;
  report.width = shape.width;
  std::vector<std::string> band_names(kS2BandNames, kS2BandNames + kS2Bands);
  if (shape.bands == 13) band_names.insert(band_names.begin() + 10, "B10");
  const fs::path skipped_path = fs::path(o.out) / "skipped.csv";
  std::ofstream skipped(skipped_path.string() + ".partial");
  skipped << "fn,reason,detail\n";
  Manifest manifest;
  manifest.bands = band_names;
  manifest.channels = shape.bands;
  manifest.height = shape.height;
  manifest.width = shape.width;
  manifest.compression = comp.str();
  manifest.source_index = fs::absolute(o.index).string();
  Progress progress(n, o.progress);
  int64_t written = 0;
  for (int k = 0; k < o.shards; ++k) {
    const int64_t end = n * (k + 1) / o.shards;
    const std::string name = cat("shard-", k, "-of-", o.shards, ".h5");
    ShardWriter writer((fs::path(o.out) / name).string(), shape.bands, shape.height, shape.width, band_names, comp);
    for (; written < end;) {
      Item item = work.next();
      const IndexRecord& r = records[size_t(written)];
      if (item.reason.empty()) {
        writer.append(item.tile.data.data(), comp.kind == Compression::Kind::kGzip ? &item.deflated : nullptr,
                      r.lat, r.lon, r.fn);
        ++report.packed;
      } else {
        ++report.skipped[item.reason];
        skipped << csv_field(r.fn) << "," << csv_field(item.reason) << "," << csv_field(item.detail) << "\n";
      }
      ++written;
      progress.update(written, report.skipped_total());
    }
    writer.finish();
    manifest.shards.push_back({name, writer.count()});
  }
  skipped.close();
  SATCLIP_CHECK(!skipped.fail(), cat(skipped_path.string(), ".partial: write failed"), "check free disk space in --out");
  fs::rename(skipped_path.string() + ".partial", skipped_path);
  manifest.count = report.packed;
  manifest.skipped = report.skipped_total();
  write_manifest((fs::path(o.out) / "manifest.json").string(), manifest);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace satclip::data
