// Graceful stop on a signal: SIGTERM, SIGUSR1 and the first SIGINT ask the program to stop at the
// next safe point (for the trainer: the next step boundary, after writing a checkpoint); a second
// SIGINT ends the process at once (exit status 130).
//
// The handlers only set an atomic flag (async-signal-safe); the program polls stop_signal().
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace satclip {

// Installs the handlers (idempotent).
void install_stop_handlers();

// The first stop signal received (SIGTERM, SIGUSR1 or SIGINT), or 0 when none arrived.
int stop_signal();

// "SIGTERM", "SIGUSR1", "SIGINT" or "signal N".
const char* signal_name(int sig);

// The exit status of a run that stopped on a signal after writing a checkpoint ("checkpointed,
// requeue me"; EX_TEMPFAIL in sysexits.h).
constexpr int kExitCheckpointed = 75;

// Thrown on every rank together when a stop signal ends a phase before the first step, which has
// nothing to checkpoint (data.verify, the feature-cache build). satclip-ddp then exits
// kExitCheckpointed all the same: a run started again, or requeued, with --resume auto begins that
// phase anew. Not a satclip::Error: no "error:" line, and no MPI abort.
class StoppedBeforeTraining : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;  // what(): "SIGTERM received during data.verify (rank 1)"
};

// Once the ranks have exchanged their stop_signal() (`signal_by_rank`: one entry per rank, 0 for
// none): throws StoppedBeforeTraining naming the first rank with a signal, "<signal> received
// <during> (rank r)"; returns when none has one. Every rank passes the same vector, so all throw
// together.
void throw_if_any_stopped(const std::vector<int64_t>& signal_by_rank, const std::string& during);

}  // namespace satclip
