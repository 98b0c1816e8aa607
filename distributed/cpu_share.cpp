#include "distributed/cpu_share.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "core/base/error.h"

namespace satclip::dist {

namespace {

bool has_cpu(const CpuMask& mask, size_t cpu) { return cpu / 64 < mask.size() && (mask[cpu / 64] >> (cpu % 64)) & 1u; }

CpuMask every_cpu() {
  const size_t n = std::max(1u, std::thread::hardware_concurrency());
  CpuMask mask((n + 63) / 64, 0);
  for (size_t c = 0; c < n; ++c) mask[c / 64] |= uint64_t{1} << (c % 64);
  return mask;
}

}  // namespace

CpuMask this_process_cpus() {
  // The kernel refuses (EINVAL) a set smaller than its own CPU count: grow until it fits.
  for (size_t n = 1024; n <= (size_t{1} << 20); n *= 4) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (!set) break;
    const size_t bytes = CPU_ALLOC_SIZE(n);
    CPU_ZERO_S(bytes, set);
    if (sched_getaffinity(0, bytes, set) == 0) {
      CpuMask mask((n + 63) / 64, 0);
      for (size_t c = 0; c < n; ++c) {
        if (CPU_ISSET_S(c, bytes, set)) mask[c / 64] |= uint64_t{1} << (c % 64);
      }
      CPU_FREE(set);
      while (!mask.empty() && mask.back() == 0) mask.pop_back();
      return count_cpus(mask) > 0 ? mask : every_cpu();
    }
    const int err = errno;
    CPU_FREE(set);
    if (err != EINVAL) break;
  }
  return every_cpu();
}

int count_cpus(const CpuMask& mask) {
  int n = 0;
  for (uint64_t w : mask) n += __builtin_popcountll(w);
  return n;
}

double cpu_share(const std::vector<CpuMask>& node_masks, int self) {
  SATCLIP_CHECK(self >= 0 && static_cast<size_t>(self) < node_masks.size(),
                cat("cpu_share: local rank ", self, " of ", node_masks.size(), " masks"), "");
  const CpuMask& mine = node_masks[static_cast<size_t>(self)];
  double share = 0;
  for (size_t cpu = 0; cpu < mine.size() * 64; ++cpu) {
    if (!has_cpu(mine, cpu)) continue;
    int holders = 0;
    for (const auto& m : node_masks) holders += has_cpu(m, cpu) ? 1 : 0;
    share += 1.0 / holders;
  }
  return share;
}

std::string cpu_binding_warning(const CpuPlacement& p, int local_size) {
  const int per_rank = p.node_cpus / std::max(1, local_size);
  if (p.allowed >= p.node_cpus || p.share > 2 || per_rank < 4) return "";
  return cat("this rank may use ", p.share, " CPU(s): the launcher bound it to ", p.allowed, " of the node's ",
             p.node_cpus, " (Open MPI's mpirun binds each rank to one core when it starts 2 ranks or fewer), so "
             "its loader (data.workers: auto: 1 thread) and its own threads share them, which can starve a GPU "
             "and slows a CPU run. Launch with `mpirun "
             "--bind-to none` or `mpirun --map-by slot:PE=", per_rank, "` (under SLURM: srun with --cpus-per-task), "
             "or set data.workers");
}

}  // namespace satclip::dist
