// Ending a multi-rank job on the first error, so that no rank waits forever in a collective.
#pragma once

#include <functional>
#include <string>

namespace satclip::dist {

// Runs `body`. If it throws, logs the error (message, hint, source location) on this rank,
// flushes the logs and, when MPI is running with more than one rank, calls MPI_Abort so every
// other rank is killed too; with one rank it returns exit code 1. Returns body's result otherwise.
int run_or_abort(const std::function<int()>& body);

// Logs `what` and aborts the whole MPI job with `code` (used by watchdogs).
[[noreturn]] void abort_job(const std::string& what, int code = 1);

}  // namespace satclip::dist
