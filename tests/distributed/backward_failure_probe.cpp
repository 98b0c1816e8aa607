// Test program: rank 1 throws in the middle of backward while a gradient bucket it launched is in
// flight and can never complete (rank 0 does not run backward: it waits in a barrier on the main
// communicator). While the exception unwinds, ~GradReducer must not wait for that bucket and
// ~MpiCommunicator must abandon its queue, so that run_or_abort reaches MPI_Abort and the whole
// job ends within seconds, naming rank 1.
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/logging.h"
#include "distributed/abort.h"
#include "distributed/grad_reducer.h"
#include "distributed/mpi_communicator.h"
#include "distributed/runtime.h"

int main(int argc, char** argv) {
  satclip::dist::MpiSession mpi(&argc, &argv);
  return satclip::dist::run_or_abort([] {
    const auto rt = satclip::dist::make_runtime("cpu");
    satclip::init_logging({rt.rank, rt.world_size, "", "info"});
    satclip::dist::MpiCommunicator comm(rt.world_comm());
    torch::manual_seed(0);
    // Four layers; with 1-byte bucket caps every tensor is a bucket of its own.
    torch::nn::Sequential net(torch::nn::Linear(32, 32), torch::nn::Linear(32, 32), torch::nn::Linear(32, 32),
                              torch::nn::Linear(32, 32));
    satclip::dist::GradReducer::NamedTensors params;
    for (const auto& p : net->named_parameters()) params.emplace_back(p.key(), p.value());
    satclip::dist::GradReducerOptions o;
    o.first_bucket_bytes = 1;  // every tensor starts a new bucket
    o.bucket_bytes = 1;
    satclip::dist::GradReducer reducer(params, comm, o);
    if (rt.rank != 1) {
      comm.barrier();  // never matched: rank 1 fails in backward
      return 0;
    }
    // The first layer's weight gets its gradient last: by then the later layers' buckets are in flight.
    net->named_parameters()["0.weight"].register_hook([](torch::Tensor g) -> torch::Tensor {
      SATCLIP_FAIL("injected failure on rank 1 in backward, with buckets in flight", "this failure is part of the test");
    });
    const auto loss = net->forward(torch::randn({8, 32})).square().sum();
    loss.backward();
    reducer.finish();
    spdlog::info("not reached");
    return 0;
  });
}
