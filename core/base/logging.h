// Rank-aware logging on top of spdlog.
//
// Rank 0 logs to the console at the chosen level; other ranks print only errors to the console
// (so a failing rank is always visible) and every rank can log everything to its own file
// `<dir>/log-rank<N>.txt`. After init_logging() the spdlog free functions (spdlog::info, ...)
// go through this setup.
#pragma once

#include <string>

namespace satclip {

struct LogOptions {
  int rank = 0;
  int world_size = 1;
  std::string dir;             // empty: no log files
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
};

// Installs the default logger; safe to call again (e.g. once the run directory is known).
void init_logging(const LogOptions& options);

// Flushes every sink (call before aborting the process).
void flush_logs();

}  // namespace satclip
