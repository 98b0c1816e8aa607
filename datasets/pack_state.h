// A pack's progress on disk, so that a killed pack continues where it stopped and parts of one
// pack (satclip-pack --part R/W, on several machines or ranks) can be packed separately.
//
// OUT/.pack/plan        what is being packed: the index (path and digest), --images, the shard
//                       count, compression, limit, record count and tile shape. A pack continued
//                       with --resume, and every part, must have the same plan.
// OUT/.pack/shard-<k>   written (atomically) after shard k's file got its final name: the tiles it
//                       holds and the records of its range that were skipped, with their reasons.
//
// Shard k holds records [n*k/N, n*(k+1)/N) of the index and its bytes depend on nothing else (no
// timestamps), so a shard packed again is the same file. finish_pack() writes skipped.csv and,
// last, manifest.json from the shard records and removes .pack/: the finished folder is the same
// whether it was packed at once, resumed, or packed in parts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace satclip::data {

struct PackPlan {
  std::string index, index_digest, images, compression;
  int shards = 1;
  int64_t limit = 0, records = 0;
  int channels = 0, height = 0, width = 0;
  std::string text() const;
};

// What one finished shard holds.
struct ShardRecord {
  int64_t packed = 0;
  std::map<std::string, int64_t> skipped;  // reason -> count
  std::vector<std::string> rows;           // skipped.csv lines (fn,reason,detail)
};

class PackState {
 public:
  // Starts a pack in `out`, or (resume) continues one. A fresh start refuses a folder holding an
  // unfinished pack unless `shared` (a part: the other parts write the same plan), and a resume
  // refuses a folder with no plan or another plan, naming the differences.
  PackState(const std::string& out, const PackPlan& plan, bool resume, bool shared);

  std::string shard_name(int k) const;
  bool done(int k) const;  // its record and its file are both there
  void mark_done(int k, const ShardRecord& record) const;

 private:
  std::string out_;
  PackPlan plan_;
};

// Reads `out`/.pack/plan (throws naming it when missing or malformed).
PackPlan read_pack_plan(const std::string& out);
// The shard record k of `out`, or none (false) when shard k is not finished.
bool read_shard_record(const std::string& out, const PackPlan& plan, int k, ShardRecord& record);
// The shards of `plan` not yet finished in `out`.
std::vector<int> missing_shards(const std::string& out, const PackPlan& plan);

// Once every shard is finished: skipped.csv, then manifest.json, then .pack/ removed. Returns the
// totals; throws naming the missing shards otherwise.
struct PackTotals {
  int64_t packed = 0;
  std::map<std::string, int64_t> skipped;
};
PackTotals finish_pack(const std::string& out);

}  // namespace satclip::data
