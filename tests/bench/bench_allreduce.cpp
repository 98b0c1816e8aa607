// Benchmark: MpiCommunicator::all_reduce against a bare MPI_Allreduce loop on the same buffer.
//
// Run under mpiexec (e.g. -n 2). For float32 buffers of 1 MB .. 256 MB, the two loops alternate
// in rounds (bare, ours, bare, ours, ...) so drift affects both equally; each figure is the median
// over rounds of the slowest rank's mean time per call. Prints a markdown table on rank 0.
#include <algorithm>
#include <cstdio>
#include <vector>

#include <mpi.h>
#include <torch/torch.h>

#include "distributed/mpi_communicator.h"
#include "distributed/runtime.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Slowest rank's mean seconds per call of `fn` over `iters` calls.
template <typename Fn>
double time_loop(MPI_Comm comm, int iters, Fn&& fn) {
  MPI_Barrier(comm);
  const double t0 = MPI_Wtime();
  for (int i = 0; i < iters; ++i) fn();
  double mine = (MPI_Wtime() - t0) / iters, slowest = 0;
  MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);
  return slowest;
}

}  // namespace

int main(int argc, char** argv) {
  satclip::dist::MpiSession mpi(&argc, &argv);
  torch::set_num_threads(1);
  satclip::dist::MpiCommunicator comm(MPI_COMM_WORLD);
  MPI_Comm bare;
  MPI_Comm_dup(MPI_COMM_WORLD, &bare);
  const int rank = comm.rank();
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  if (rank == 0) {
    std::printf("| size | bare MPI_Allreduce (ms) | Communicator::all_reduce (ms) | overhead | algbw ours (GB/s) |\n");
    std::printf("|---:|---:|---:|---:|---:|\n");
  }
  for (int64_t mb : {1, 2, 4, 8, 16, 32, 64, 128, 256}) {
    const int64_t n = mb * (1 << 20) / 4;
    std::vector<float> buffer(n, 1.0f);
    auto tensor = torch::from_blob(buffer.data(), {n}, torch::kFloat);  // same memory
    const int iters = static_cast<int>(std::max<int64_t>(3, 256 / mb));
    std::vector<double> t_bare, t_ours;
    // One warm-up round of each, then alternate.
    for (int round = -1; round < rounds; ++round) {
      const double b = time_loop(bare, iters, [&] {
        MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, bare);
      });
      const double o = time_loop(bare, iters, [&] { comm.all_reduce(tensor, satclip::dist::ReduceOp::kSum); });
      if (round >= 0) {
        t_bare.push_back(b);
        t_ours.push_back(o);
      }
      std::fill(buffer.begin(), buffer.end(), 1.0f);  // keep values finite
    }
    const double b = median(t_bare), o = median(t_ours);
    if (rank == 0) {
      std::printf("| %3lld MB | %.3f | %.3f | %+.1f %% | %.2f |\n", static_cast<long long>(mb), b * 1e3,
                  o * 1e3, (o / b - 1.0) * 100.0, mb / 1024.0 / o);
      std::fflush(stdout);
    }
  }
  MPI_Comm_free(&bare);
  return 0;
}
