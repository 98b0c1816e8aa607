#include "datasets/pack_state.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/text.h"
#include "datasets/manifest.h"
#include "datasets/synth.h"

namespace fs = std::filesystem;

namespace satclip::data {
namespace {

constexpr const char* kPlanHeader = "satclip-pack plan 1";
constexpr const char* kShardHeader = "satclip-pack shard 1";
constexpr size_t kMaxPlanBytes = 64 * 1024;
constexpr size_t kMaxRecordBytes = size_t(256) << 20;  // skipped rows of one shard

const char* kHint = "delete OUT/.pack and the shards to pack again from the start";

std::string state_dir(const std::string& out) { return (fs::path(out) / ".pack").string(); }
std::string plan_path(const std::string& out) { return (fs::path(out) / ".pack" / "plan").string(); }
std::string record_path(const std::string& out, int k) {
  return (fs::path(out) / ".pack" / cat("shard-", k)).string();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string shard_file(const PackPlan& plan, int k) { return cat("shard-", k, "-of-", plan.shards, ".h5"); }

}  // namespace

std::string PackPlan::text() const {
  return cat(kPlanHeader, "\nindex=", index, "\nindex_digest=", index_digest, "\nimages=", images,
             "\nshards=", shards, "\ncompression=", compression, "\nlimit=", limit, "\nrecords=", records,
             "\nshape=", channels, "x", height, "x", width, "\n");
}

PackPlan read_pack_plan(const std::string& out) {
  const std::string path = plan_path(out);
  SATCLIP_CHECK(fs::exists(path), cat(out, ": no unfinished pack here (", path, " is missing)"),
                "start the pack without --resume");
  const auto lines = lines_of(read_regular_file(path, kMaxPlanBytes, "a pack plan", kHint));
  SATCLIP_CHECK(!lines.empty() && lines[0] == kPlanHeader, cat(path, ": not a satclip-pack plan"), kHint);
  std::map<std::string, std::string> kv;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto eq = lines[i].find('=');
    SATCLIP_CHECK(eq != std::string::npos, cat(path, ": line ", i + 1, " is not key=value"), kHint);
    kv[lines[i].substr(0, eq)] = lines[i].substr(eq + 1);
  }
  auto text = [&](const char* key) {
    const auto at = kv.find(key);
    SATCLIP_CHECK(at != kv.end(), cat(path, ": no '", key, "'"), kHint);
    return at->second;
  };
  auto number = [&](const char* key, int64_t lo, int64_t hi) {
    int64_t v = 0;
    SATCLIP_CHECK(parse_integer(text(key), v) && v >= lo && v <= hi,
                  cat(path, ": '", key, "' must be an integer in ", lo, " .. ", hi), kHint);
    return v;
  };
  PackPlan p;
  p.index = text("index");
  p.index_digest = text("index_digest");
  p.images = text("images");
  p.compression = text("compression");
  p.shards = int(number("shards", 1, 100000));
  p.limit = number("limit", 0, INT64_MAX);
  p.records = number("records", 0, INT64_MAX);
  const auto shape = split_csv_line(replace_all(text("shape"), "x", ","));
  int64_t c = 0, h = 0, w = 0;
  SATCLIP_CHECK(shape.size() == 3 && parse_integer(shape[0], c) && parse_integer(shape[1], h) &&
                    parse_integer(shape[2], w) && (c == 12 || c == 13) && h > 0 && w > 0 && h <= 65536 && w <= 65536,
                cat(path, ": 'shape' must be CxHxW with 12 or 13 bands"), kHint);
  p.channels = int(c);
  p.height = int(h);
  p.width = int(w);
  return p;
}

PackState::PackState(const std::string& out, const PackPlan& plan, bool resume, bool shared)
    : out_(out), plan_(plan) {
  const std::string path = plan_path(out);
  const bool fresh = !fs::exists(path);
  if (fresh) {
    SATCLIP_CHECK(!resume || shared, cat(out, ": no unfinished pack here (", path, " is missing)"),
                  "start the pack without --resume");
    fs::create_directories(state_dir(out));
    // Parts may start together: each writes its own temporary file; the renames leave one plan.
    const std::string tmp = cat(path, ".", ::getpid(), ".partial");
    {
      std::ofstream f(tmp);
      f << plan.text();
      SATCLIP_CHECK(f.good(), cat(tmp, ": write failed"), "check free disk space in --out");
    }
    fs::rename(tmp, path);
  }
  const PackPlan found = read_pack_plan(out);
  if (found.text() == plan.text()) {
    SATCLIP_CHECK(fresh || resume || shared, cat(out, " holds an unfinished pack of the same data"),
                  "continue it with --resume (or delete the folder to start over)");
    return;
  }
  const auto want = lines_of(plan.text()), have = lines_of(found.text());
  std::string diff;
  for (size_t i = 0; i < want.size() && i < have.size(); ++i) {
    if (want[i] != have[i]) diff += cat("\n  this run: ", want[i], "\n  the pack: ", have[i]);
  }
  SATCLIP_FAIL(cat(out, " holds an unfinished pack of other data or settings:", diff),
               "run with the same --index, --images, --shards, --compression and --limit, or pack into another --out");
}

std::string PackState::shard_name(int k) const { return shard_file(plan_, k); }

bool PackState::done(int k) const {
  ShardRecord record;
  return read_shard_record(out_, plan_, k, record);
}

void PackState::mark_done(int k, const ShardRecord& r) const {
  std::string text = cat(kShardHeader, "\npacked ", r.packed, "\n");
  for (const auto& [reason, count] : r.skipped) text += cat("skip ", count, " ", reason, "\n");
  for (const auto& row : r.rows) text += cat("row ", row, "\n");
  write_file_atomically(record_path(out_, k), text);
}

bool read_shard_record(const std::string& out, const PackPlan& plan, int k, ShardRecord& r) {
  const std::string path = record_path(out, k);
  std::error_code ec;
  if (!fs::exists(path, ec) || !fs::exists(fs::path(out) / shard_file(plan, k), ec)) return false;
  const auto lines = lines_of(read_regular_file(path, kMaxRecordBytes, "a pack shard record", kHint));
  SATCLIP_CHECK(lines.size() >= 2 && lines[0] == kShardHeader && starts_with(lines[1], "packed ") &&
                    parse_integer(lines[1].substr(7), r.packed) && r.packed >= 0,
                cat(path, ": not a satclip-pack shard record"), kHint);
  for (size_t i = 2; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (starts_with(line, "row ")) {
      r.rows.push_back(line.substr(4));
      continue;
    }
    const auto space = line.find(' ', 5);
    int64_t count = 0;
    SATCLIP_CHECK(starts_with(line, "skip ") && space != std::string::npos &&
                      parse_integer(line.substr(5, space - 5), count) && count > 0,
                  cat(path, ": line ", i + 1, " is neither 'skip COUNT REASON' nor 'row CSV'"), kHint);
    r.skipped[line.substr(space + 1)] += count;
  }
  return true;
}

std::vector<int> missing_shards(const std::string& out, const PackPlan& plan) {
  std::vector<int> missing;
  for (int k = 0; k < plan.shards; ++k) {
    ShardRecord r;
    if (!read_shard_record(out, plan, k, r)) missing.push_back(k);
  }
  return missing;
}

PackTotals finish_pack(const std::string& out) {
  const PackPlan plan = read_pack_plan(out);
  const auto missing = missing_shards(out, plan);
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 20; ++i) list += cat(i ? ", " : "", missing[i]);
    if (missing.size() > 20) list += cat(" and ", missing.size() - 20, " more");
    SATCLIP_FAIL(cat(out, ": ", missing.size(), " of ", plan.shards, " shards are not packed yet (", list, ")"),
                 "run the parts that pack them (satclip-pack ... --part R/W, with --resume after an interruption)");
  }
  PackTotals totals;
  Manifest m;
  m.bands.assign(kS2BandNames, kS2BandNames + kS2Bands);
  if (plan.channels == 13) m.bands.insert(m.bands.begin() + 10, "B10");
  m.channels = plan.channels;
  m.height = plan.height;
  m.width = plan.width;
  m.compression = plan.compression;
  m.source_index = plan.index;
  std::string skipped = "fn,reason,detail\n";
  for (int k = 0; k < plan.shards; ++k) {
    ShardRecord r;
    read_shard_record(out, plan, k, r);
    totals.packed += r.packed;
    for (const auto& [reason, count] : r.skipped) totals.skipped[reason] += count;
    for (const auto& row : r.rows) skipped += row + "\n";
    m.shards.push_back({shard_file(plan, k), r.packed});
  }
  m.count = totals.packed;
  for (const auto& [reason, count] : totals.skipped) m.skipped += count;
  write_file_atomically((fs::path(out) / "skipped.csv").string(), skipped);
  write_manifest((fs::path(out) / "manifest.json").string(), m);
  remove_tree(state_dir(out));
  return totals;
}

}  // namespace satclip::data
