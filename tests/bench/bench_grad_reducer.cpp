// Benchmark: GradReducer with overlap (buckets reduced during backward) against
// backward-then-reduce (the same buckets, all reduced after backward), and compute alone.
//
// Run under mpiexec -n 2. Model: an MLP of about 25 M float32 parameters. Each configuration
// runs `steps` timed steps after 3 warm-up steps; figures are the slowest rank's mean per step.
#include <cstdio>
#include <cstdlib>

#include <mpi.h>
#include <torch/torch.h>

#include "distributed/grad_reducer.h"
#include "distributed/mpi_communicator.h"
#include "distributed/runtime.h"

using namespace satclip::dist;

namespace {

torch::nn::Sequential make_model() {
  torch::manual_seed(0);
  return torch::nn::Sequential(torch::nn::Linear(1024, 2048), torch::nn::ReLU(),
                               torch::nn::Linear(2048, 4096), torch::nn::ReLU(),
                               torch::nn::Linear(4096, 2048), torch::nn::ReLU(),
                               torch::nn::Linear(2048, 1024));
}

enum class Mode { kComputeOnly, kReduceAfter, kOverlap };

double run(Mode mode, Communicator& comm, int steps, int64_t batch) {
  auto model = make_model();
  GradReducer::NamedTensors params;
  for (const auto& p : model->named_parameters()) params.emplace_back(p.key(), p.value());
  std::unique_ptr<GradReducer> reducer;
  if (mode != Mode::kComputeOnly) {
    GradReducerOptions options;
    options.overlap = mode == Mode::kOverlap;
    reducer = std::make_unique<GradReducer>(params, comm, options);
  }
  torch::manual_seed(comm.rank());
  const auto x = torch::randn({batch, 1024});
  double start = 0;
  for (int s = -3; s < steps; ++s) {
    if (s == 0) {
      comm.barrier();
      start = MPI_Wtime();
    }
    model->zero_grad();
    model->forward(x).pow(2).mean().backward();
    if (reducer) reducer->finish();
  }
  double mine = (MPI_Wtime() - start) / steps, slowest = 0;
  MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return slowest;
}

}  // namespace

int main(int argc, char** argv) {
  MpiSession mpi(&argc, &argv);
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 10;
  const int64_t batch = argc > 3 ? std::atoll(argv[3]) : 64;
  torch::set_num_threads(threads);
  MpiCommunicator comm(MPI_COMM_WORLD);
  int64_t numel = 0;
  for (const auto& p : make_model()->parameters()) numel += p.numel();
  const double compute = run(Mode::kComputeOnly, comm, steps, batch);
  const double after = run(Mode::kReduceAfter, comm, steps, batch);
  const double overlap = run(Mode::kOverlap, comm, steps, batch);
  if (comm.rank() == 0) {
    std::printf("model: %.1f M float32 parameters (%.0f MB of gradients), batch %lld per rank, "
                "%d torch thread(s) per rank, %d ranks, %d steps\n",
                numel / 1e6, numel * 4 / 1048576.0, static_cast<long long>(batch), threads,
                comm.size(), steps);
    std::printf("| configuration | ms / step | communication time not hidden (ms) |\n|---|---:|---:|\n");
    std::printf("| forward+backward only | %.1f | - |\n", compute * 1e3);
    std::printf("| backward, then reduce | %.1f | %.1f |\n", after * 1e3, (after - compute) * 1e3);
    std::printf("| GradReducer overlapped | %.1f | %.1f |\n", overlap * 1e3, (overlap - compute) * 1e3);
  }
  return 0;
}
