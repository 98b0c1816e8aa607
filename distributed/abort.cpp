#include "distributed/abort.h"

#include <chrono>
#include <cstdlib>
#include <thread>
#include <string>

#include <mpi.h>
#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/logging.h"

namespace satclip::dist {
namespace {

int world_size_if_running() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return 1;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

int world_rank_if_running() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return 0;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace

void abort_job(const std::string& what, int code) {
  spdlog::critical("{}", what);
  flush_logs();
  if (world_size_if_running() > 1) {
    spdlog::critical("rank {} aborts the MPI job", world_rank_if_running());
    flush_logs();
    // MPI_Abort normally ends every rank at once. Where it cannot (srun waiting on a node that is
    // gone), this rank still ends, so that the launcher sees it.
    std::thread([code] {
      std::this_thread::sleep_for(std::chrono::seconds(10));
      std::_Exit(code);
    }).detach();
    MPI_Abort(MPI_COMM_WORLD, code);
  }
  std::_Exit(code);
}

int run_or_abort(const std::function<int()>& body) {
  std::string what;
  try {
    return body();
  } catch (const Error& e) {
    what = "error: " + e.message();
    if (!e.hint().empty()) what += "\nHINT: " + e.hint();
    if (!e.where().empty()) spdlog::debug("raised at {}", e.where());
  } catch (const std::exception& e) {
    what = std::string("error: ") + e.what();
  }
  if (world_size_if_running() > 1) abort_job(what, 1);
  spdlog::critical("{}", what);
  flush_logs();
  return 1;
}

}  // namespace satclip::dist
