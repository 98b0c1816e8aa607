// Test program: rank 1 throws in the middle of a run of all-reduces while the other ranks wait in
// the next one. run_or_abort must end the whole job quickly with a non-zero status.
#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/logging.h"
#include "distributed/abort.h"
#include "distributed/mpi_communicator.h"
#include "distributed/runtime.h"

int main(int argc, char** argv) {
  satclip::dist::MpiSession mpi(&argc, &argv);
  return satclip::dist::run_or_abort([] {
    const auto rt = satclip::dist::make_runtime("cpu");
    satclip::init_logging({rt.rank, rt.world_size, "", "info"});
    satclip::dist::MpiCommunicator comm(rt.world_comm());
    for (int step = 0; step < 1000; ++step) {
      if (rt.rank == 1 && step == 3) {
        SATCLIP_FAIL("injected failure on rank 1 at step 3", "this failure is part of the test");
      }
      auto t = torch::ones({1024});
      comm.all_reduce(t, satclip::dist::ReduceOp::kSum);
    }
    // Never reached by the other ranks either: they wait for rank 1's contribution.
    spdlog::info("all steps done");
    return 0;
  });
}
