// CPU placement: how many CPUs a rank may count on, given the launcher's binding.
//
// A launcher restricts each process to a set of CPUs (its affinity mask): Open MPI's mpirun binds
// every rank to one core when it starts two ranks or fewer (to a package above that), srun to its
// --cpus-per-task, taskset to its list. Thread pools (the loader's `data.workers: auto`) are sized
// from the CPUs a rank may use and shares with the node's other ranks, not from the node's count.
// No torch and no MPI here: query_mpi_process() gathers the node's masks, these functions decide.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace satclip::dist {

// Bit c (word c / 64, bit c % 64) set: the process may run on CPU c.
using CpuMask = std::vector<uint64_t>;

// This process's affinity mask (sched_getaffinity). Where the kernel does not say, every CPU of
// the node: 0 .. hardware_concurrency - 1.
CpuMask this_process_cpus();

int count_cpus(const CpuMask& mask);

// The CPUs rank `self` of a node may count on, given the masks of all the node's ranks (indexed
// by local rank): each CPU of its mask counts 1/k, k being the number of masks that hold it.
// So the shares of a node's ranks add up to the CPUs they use together. Examples (16 CPUs):
// two ranks, unbound: 8 each; two ranks bound to one core each: 1 each; a rank bound to CPUs 0-7
// and one unbound: 4 and 12. Masks of different lengths are compared as if padded with zeros.
double cpu_share(const std::vector<CpuMask>& node_masks, int self);

struct CpuPlacement {
  int node_cpus = 1;  // CPUs of the node (std::thread::hardware_concurrency)
  int allowed = 1;    // CPUs in this rank's mask
  int share = 1;      // cpu_share() rounded down, at least 1
};

// A warning (one sentence, then how to fix it) when the launcher's binding left this rank with
// 2 CPUs or fewer although the node has 4 or more per rank; empty otherwise.
std::string cpu_binding_warning(const CpuPlacement& placement, int local_size);

}  // namespace satclip::dist
