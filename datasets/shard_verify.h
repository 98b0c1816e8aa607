// Verifying a shard directory from elsewhere, each shard in its own limited child process.
//
// libhdf5 parses a shard before any check of ours can run, and crafted files have made it
// allocate gigabytes, loop, or read freed memory (README "Security"). verify_shard_dir() reads
// the manifest in the calling process (our own checked parser), then forks one child per shard.
// Each child sets its limits first (address space: what was mapped at the fork plus
// `max_memory_mib`; CPU time: `timeout_s`; no core file), then runs the training path's reader
// over the shard: ShardReader's validation at open, then every tile read back (and inflated for
// gzip). The parent only waits, kills a child that passes the wall-clock deadline (`timeout_s`,
// which also catches a shard that blocks, such as a FIFO), and turns each ending (valid, refused,
// out of memory, out of time, crashed) into a verdict. Nothing a shard does can crash, hang or
// exhaust the calling process.
//
// The children are forked: call this before the process starts threads that use HDF5 (for
// satclip-pack --verify, the only caller, nothing else runs). A child is killed when the thread
// that forked it ends (PR_SET_PDEATHSIG), so a satclip-pack that is stopped or killed leaves no
// reader behind; that thread is the caller's, alive until this returns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace satclip::data {

// Upper bounds of VerifyOptions' limits (satclip-pack checks its flags against them).
constexpr int64_t kMaxVerifyMemoryMib = int64_t{1} << 30, kMaxVerifySeconds = int64_t{1} << 30;

struct VerifyOptions {
  int64_t max_memory_mib = 4096;  // per child, on top of what the process had mapped at the fork
  int64_t timeout_s = 600;        // per shard: CPU time and wall-clock time
  int jobs = 0;                   // children at once; 0: the number of cores
  int part = 0, parts = 1;        // only the shards whose manifest index i has i % parts == part
};

struct ShardVerdict {
  std::string file;     // as the manifest names it
  int64_t tiles = 0;    // tiles read back (when valid)
  std::string problem;  // empty when the shard is valid, else what went wrong, naming the file
};

struct VerifyReport {
  std::string dir;
  std::vector<ShardVerdict> shards;  // the part's shards, in manifest order
  int64_t manifest_shards = 0;       // all of them
  int64_t tiles() const;
  int64_t failed() const;
};

// satclip-pack --verify's line for one shard: "  ok      DIR/FILE: N tiles", or kVerifyFailedMark
// followed by the problem (which names the file).
inline constexpr const char* kVerifyFailedMark = "  FAILED  ";
std::string verdict_line(const std::string& dir, const ShardVerdict& verdict);

// Verifies every shard of `dir` in options' part (see above). A manifest that cannot be read throws
// satclip::Error; a bad shard never throws: its verdict says why.
VerifyReport verify_shard_dir(const std::string& dir, const VerifyOptions& options);

}  // namespace satclip::data
