// Test program: rank 1 stops taking part (it sleeps, as a rank on a lost node would never answer)
// while rank 0 waits in an all-reduce. The MPI communicator's watchdog (timeout 3 s) must end the
// job with a message naming rank 0's wait and the timeout.
#include <chrono>
#include <thread>

#include "core/base/logging.h"
#include "distributed/abort.h"
#include "distributed/mpi_communicator.h"
#include "distributed/runtime.h"

int main(int argc, char** argv) {
  satclip::dist::MpiSession mpi(&argc, &argv);
  return satclip::dist::run_or_abort([] {
    const auto rt = satclip::dist::make_runtime("cpu");
    satclip::init_logging({rt.rank, rt.world_size, "", "info"});
    satclip::dist::MpiCommunicator comm(rt.world_comm(), /*timeout_s=*/3.0);
    auto t = torch::ones({16});
    comm.all_reduce(t, satclip::dist::ReduceOp::kSum);  // everyone joins once
    if (rt.rank == 1) std::this_thread::sleep_for(std::chrono::seconds(100));
    comm.all_reduce(t, satclip::dist::ReduceOp::kSum);  // rank 0 waits here
    return 0;
  });
}
