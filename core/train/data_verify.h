// data.verify: the shards read back in limited child processes before any rank opens one.
#pragma once

#include <string>

namespace satclip::dist {
class Communicator;
}

namespace satclip::core {

// Every rank runs `satclip-pack --verify SHARDS --part RANK/WORLD --threads THREADS` (the program
// beside this one): each of its shards opened and every tile read back in its own child process
// under memory and time limits (datasets/shard_verify.h), so a crafted shard that crashes, hangs
// or exhausts libhdf5 fails there, not in a rank. Then every rank learns every rank's verdict
// and, when a shard failed, throws the same satclip::Error naming each failed shard.
// `threads` <= 0: satclip-pack's default. Collective when `comm` is given.
void verify_shards(const std::string& shards, int threads, dist::Communicator* comm);

}  // namespace satclip::core
