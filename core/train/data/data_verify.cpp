#include "core/train/data/data_verify.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/stop_signal.h"
#include "core/base/subprocess.h"
#include "core/base/text.h"
#include "core/recipe/recipe.h"
#include "datasets/shard_verify.h"
#include "distributed/communicator.h"

namespace satclip::core {

std::string shard_dir_state(const std::string& shards) {
  char real[PATH_MAX];
  if (::realpath(shards.c_str(), real) == nullptr) return "";
  DIR* d = ::opendir(real);
  if (d == nullptr) return "";
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::string state = cat("satclip-ddp data.verify: every tile of this shard directory was read back and valid\n",
                          "dir ", real, "\n");
  for (const auto& name : names) {
    struct stat st {};
    // stat, not lstat: for a link to a shard elsewhere, the shard's own state.
    if (::stat((std::string(real) + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    state += cat("file ", name, " size ", st.st_size, " inode ", st.st_ino, " mtime ", st.st_mtim.tv_sec, ".",
                 st.st_mtim.tv_nsec, " ctime ", st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec, "\n");
  }
  return state;
}

namespace {

// What satclip-pack's output says went wrong, one indented line each: `failed` shards, or why it
// could not verify (`trouble`: no manifest, a signal, no verdict). Both "" when it passed.
void read_problems(const ProcessResult& r, std::string& failed, std::string& trouble) {
  if (r.ok()) return;
  std::istringstream in(r.output);
  const std::string mark = data::kVerifyFailedMark, error = "satclip-pack: error: ";  // cli::run_cli's line
  for (std::string line; std::getline(in, line);) {
    if (starts_with(line, mark)) failed += "  " + line.substr(mark.size()) + "\n";
    if (starts_with(line, error)) trouble += "  " + line.substr(error.size()) + "\n";
  }
  if (!failed.empty()) trouble.clear();  // its error line only counts them
  if (failed.empty() && trouble.empty()) {
    trouble = cat("  satclip-pack --verify ended with ", r.ending(), " and no verdict\n");
  }
}

// Every rank's `text` in rank order (this one's alone without `comm`). Collective.
std::vector<std::string> each_rank(const std::string& text, dist::Communicator* comm) {
  return comm ? dist::all_gather_text(*comm, text) : std::vector<std::string>{text};
}

// One round of the ranks' agreement while they verify (collective): whether any rank's check still
// runs, and whether any rank has a stop signal. A rank asks from run_process's poll loop while its
// check runs, and in a loop after it until no rank's check runs, so every rank goes through the
// same rounds and a signal to any one of them stops every rank's check.
struct Round {
  bool any_running = false;
  bool any_signal = false;
};
Round agree(bool running, dist::Communicator* comm) {
  Round out;
  for (const auto& s : each_rank(cat(running ? "running " : "done ", stop_signal()), comm)) {
    out.any_running = out.any_running || starts_with(s, "running ");
    out.any_signal = out.any_signal || !ends_with(s, " 0");
  }
  return out;
}

// Every rank's lines in rank order, each once (every rank reports the same unreadable manifest),
// without the last newline.
std::string gather(const std::string& text, dist::Communicator* comm) {
  std::vector<std::string> seen;
  std::string all;
  for (const auto& t : each_rank(text, comm)) {
    std::istringstream in(t);
    for (std::string line; std::getline(in, line);) {
      if (std::find(seen.begin(), seen.end(), line) != seen.end()) continue;
      seen.push_back(line);
      all += line + "\n";
    }
  }
  if (!all.empty()) all.pop_back();
  return all;
}

// The file's text when it is a regular file of at most `limit` bytes, else "" (a record is a few
// lines a shard).
std::string read_small_file(const std::string& path, size_t limit) {
  try {
    return read_regular_file(path, limit, "a verification record", "");
  } catch (const Error&) {
    return "";
  }
}

// Who asks for the check, for its messages.
struct Asker {
  std::string name;     // the messages' prefix
  std::string use;      // what not to do with a directory that failed
  std::string opt_out;  // how to go on without the check
};

const Asker kTrainer{"data.verify", "do not train on it", "set data.verify: false"};

// verify_shards (data_verify.h), with `asker`'s words in its messages and log lines.
std::string verify_as(const Asker& asker, const std::string& shards, int threads, const std::string& record,
                      dist::Communicator* comm) {
  const int rank = comm ? comm->rank() : 0, world = comm ? comm->size() : 1;
  // Rank 0 decides whether the directory is as it was when last verified.
  const std::string state = rank == 0 ? shard_dir_state(shards) : "";
  const bool same = rank == 0 && !state.empty() && !record.empty() && read_small_file(record, state.size()) == state;
  if (each_rank(same ? "same" : "", comm).front() == "same") {
    spdlog::info("{}: {} is unchanged since it was verified ({}): not read again", asker.name, shards, record);
    return "";
  }
  std::string failed, trouble, summary;
  std::optional<ProcessResult> r;
  try {  // a rank that cannot run the check still takes part in the collectives below
    std::vector<std::string> argv{sibling_program("satclip-pack", asker.name), "--verify", shards, "--part",
                                  cat(rank, "/", world)};
    if (threads > 0) argv.insert(argv.end(), {"--threads", std::to_string(threads)});
    spdlog::info("{}: reading back every tile of {} in limited child processes (satclip-pack --verify, "
                 "{} part(s))", asker.name, shards, world);
    // A stop signal to any rank ends every rank's check at once (satclip-pack and its readers are
    // killed), not after it.
    r = run_process(argv, kDefaultMaxOutput, [comm] { return agree(/*running=*/true, comm).any_signal; });
  } catch (const Error& e) {
    trouble = "  " + e.message() + "\n";
  }
  while (agree(/*running=*/false, comm).any_running) {  // until every rank's check has ended
  }
  // Read once, after the check: `r->stopped` alone would miss a terminal's Ctrl-C, which can end
  // satclip-pack with the same SIGINT before the stop request is polled.
  const int sig = stop_signal();
  if (r) {
    std::istringstream in(r->output);
    for (std::string line; std::getline(in, line);) {
      spdlog::debug("{}: {}", asker.name, line);
      if (!line.empty()) summary = line;  // satclip-pack's last line: its totals
    }
    // Not when stopped: it ended on our SIGTERM, or on the same signal as this process.
    if (sig == 0 && !r->stopped) read_problems(*r, failed, trouble);
  }
  std::vector<int64_t> signals;
  for (const auto& s : each_rank(std::to_string(sig), comm)) signals.push_back(std::stoll(s));
  throw_if_any_stopped(signals, cat("during ", asker.name));
  const std::string all_failed = gather(failed, comm), all_trouble = gather(trouble, comm);
  SATCLIP_CHECK(all_failed.empty(),
                cat(asker.name, ": the shard directory ", shards, " failed verification:\n", all_failed),
                cat(asker.use, ": pack it again from the source tiles or get an intact copy; "
                               "`satclip-pack --verify DIR` checks a directory on its own"));
  SATCLIP_CHECK(all_trouble.empty(), cat(asker.name, ": could not verify ", shards, ":\n", all_trouble),
                cat("fix the cause above; or check the directory with `satclip-pack --verify DIR` and ",
                    asker.opt_out));
  const auto totals = each_rank(summary, comm);
  for (size_t r = 0; r < totals.size(); ++r) spdlog::info("{}: rank {}: {}", asker.name, r, totals[r]);
  return state;
}

}  // namespace

std::string verify_shards(const std::string& shards, int threads, const std::string& record,
                          dist::Communicator* comm) {
  return verify_as(kTrainer, shards, threads, record, comm);
}

void verify_shards_before_reading(const std::string& shards, bool asked, const Recipe* recipe,
                                  const std::string& program) {
  if (!asked && !(recipe != nullptr && recipe->data.verify)) return;
  const Asker reader{program + " --verify", "do not read it",
                     "leave out --verify (and data.verify from --recipe)"};
  verify_as(reader, shards, /*threads=*/0, /*record=*/"", /*comm=*/nullptr);
}

}  // namespace satclip::core
