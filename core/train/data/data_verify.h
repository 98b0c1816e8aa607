// data.verify: the shards read back in limited child processes before any rank opens one, once
// per directory state.
#pragma once

#include <string>

namespace satclip::dist {
class Communicator;
}

namespace satclip::core {

struct Recipe;

// The state of a shard directory that a verification vouches for: its real path, and each
// regular file's name, size, inode, modification and change time (of the target, for a link). A
// file replaced, rewritten or touched changes it (the change time cannot be set back from user
// space). Empty when the folder cannot be listed.
std::string shard_dir_state(const std::string& shards);

// Every rank runs `satclip-pack --verify SHARDS --part RANK/WORLD --threads THREADS` (the program
// beside this one): each of its shards opened and every tile read back in its own child process
// under memory and time limits (datasets/shard_verify.h), so a crafted shard that crashes, hangs
// or exhausts libhdf5 fails there, not in a rank. Then every rank learns every rank's verdict
// and, when a shard failed or a rank could not verify, throws the same satclip::Error naming each
// failed shard or the reason. `threads` <= 0: satclip-pack's default.
//
// `record`: a file (output.dir/verified-shards.txt) holding shard_dir_state() of the last
// verification that passed; when rank 0 finds it equal to the state now, nothing is read again.
// Returns, on rank 0, the record to write once all is well ("" when it is unchanged, and on the
// other ranks); the caller writes it (the trainer, once the run directory exists, not in a dry
// run). Collective when `comm` is given.
//
// A stop signal (stop_signal.h) on any rank ends every rank's satclip-pack at once (SIGTERM, then
// SIGKILL: run_process): while their checks run, the ranks agree every kStopPollMs whether one of
// them has a signal. All then throw StoppedBeforeTraining naming the signal and the rank.
std::string verify_shards(const std::string& shards, int threads, const std::string& record,
                          dist::Communicator* comm);

// For a program that reads shards without training (satclip-embed, satclip-eval): when `asked`
// (its --verify) or `recipe`'s data.verify is set, verify_shards on this process alone, without a
// record, before anything is written. Its errors name `program` and --verify, not data.verify.
void verify_shards_before_reading(const std::string& shards, bool asked, const Recipe* recipe,
                                  const std::string& program);

}  // namespace satclip::core
