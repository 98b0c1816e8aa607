// Runtime: launch checks and device choice for any (rank, world, local) placement, and the CPU
// share of a rank for any set of affinity masks.
#include <algorithm>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "distributed/runtime.h"

using satclip::dist::CpuMask;
using satclip::dist::CpuPlacement;
using satclip::dist::ProcessInfo;
using satclip::dist::cpu_binding_warning;
using satclip::dist::cpu_share;
using satclip::dist::resolve_runtime;

namespace {

ProcessInfo proc(int rank, int world_size, int local_rank, int local_size) {
  ProcessInfo p;
  p.rank = rank;
  p.world_size = world_size;
  p.local_rank = local_rank;
  p.local_size = local_size;
  return p;
}

// A mask holding the listed CPUs, as long as its highest one needs.
CpuMask cpus(std::initializer_list<int> list) {
  CpuMask m(static_cast<size_t>(std::max(list)) / 64 + 1, 0);
  for (int c : list) m[static_cast<size_t>(c) / 64] |= uint64_t{1} << (c % 64);
  return m;
}

CpuMask range(int first, int last) {
  CpuMask m(static_cast<size_t>(last) / 64 + 1, 0);
  for (int c = first; c <= last; ++c) m[static_cast<size_t>(c) / 64] |= uint64_t{1} << (c % 64);
  return m;
}

}  // namespace

TEST(Runtime, CpuWhenNoGpuVisible) {
  const auto r = resolve_runtime(proc(1, 4, 1, 2), {}, "auto", 0);
  EXPECT_EQ(r.rank, 1);
  EXPECT_EQ(r.world_size, 4);
  EXPECT_EQ(r.local_rank, 1);
  EXPECT_TRUE(r.device.is_cpu());
  EXPECT_FALSE(r.ranks_share_gpu);
}

TEST(Runtime, AutoPicksLocalRankModuloVisibleGpus) {
  EXPECT_EQ(resolve_runtime(proc(5, 8, 1, 4), {}, "auto", 4).device.index(), 1);
  EXPECT_EQ(resolve_runtime(proc(3, 8, 3, 4), {}, "auto", 2).device.index(), 1);
  EXPECT_TRUE(resolve_runtime(proc(3, 8, 3, 4), {}, "auto", 2).ranks_share_gpu);
  EXPECT_FALSE(resolve_runtime(proc(3, 8, 3, 4), {}, "auto", 4).ranks_share_gpu);
}

TEST(Runtime, ExplicitDevices) {
  EXPECT_TRUE(resolve_runtime(proc(0, 1, 0, 1), {}, "cpu", 8).device.is_cpu());
  EXPECT_EQ(resolve_runtime(proc(0, 1, 0, 1), {}, "cuda:3", 8).device.index(), 3);
  EXPECT_THROW(resolve_runtime(proc(0, 1, 0, 1), {}, "cuda:8", 8), satclip::Error);
  EXPECT_THROW(resolve_runtime(proc(0, 1, 0, 1), {}, "cuda", 0), satclip::Error);
  EXPECT_THROW(resolve_runtime(proc(0, 1, 0, 1), {}, "tpu", 0), satclip::Error);
}

TEST(Runtime, DeviceRequestsAreCheckedBeforeUse) {
  using satclip::dist::choose_device;
  EXPECT_EQ(choose_device("cuda", 3, 2).index(), 1);  // by local rank
  EXPECT_EQ(choose_device("cuda:12", 0, 16).index(), 12);
  EXPECT_TRUE(choose_device("auto", 3, 0).is_cpu());
  EXPECT_THROW(choose_device("cuda:99999999999999999999", 0, 4), satclip::Error);  // does not exist
  // Malformed requests name themselves, on machines with and without GPUs alike.
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:1x", "cuda:-1", "cuda:+1", "CUDA", ""}) {
    for (int visible : {0, 4}) {
      try {
        choose_device(bad, 0, visible);
        ADD_FAILURE() << "no error for '" << bad << "'";
      } catch (const satclip::Error& e) {
        EXPECT_EQ(e.message(), std::string("unknown device '") + bad + "'") << visible;
        EXPECT_NE(e.hint().find("cuda:N"), std::string::npos) << e.hint();
      }
    }
  }
}

TEST(Runtime, SlurmTaskCountMustMatchWorld) {
  EXPECT_NO_THROW(resolve_runtime(proc(0, 4, 0, 4), {{"SLURM_NTASKS", "4"}}, "cpu", 0));
  try {
    resolve_runtime(proc(0, 1, 0, 1), {{"SLURM_NTASKS", "4"}}, "cpu", 0);
    FAIL() << "expected an error";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("SLURM_NTASKS=4"), std::string::npos) << e.message();
    EXPECT_NE(e.hint().find("srun --mpi=pmix"), std::string::npos) << e.hint();
  }
  // mpirun -n 4 over two nodes in a 4-task job: rank 0 runs in the batch step (SLURM_NTASKS=4);
  // the ranks on the second node inherit the environment of the 1-task srun step that started
  // mpirun's daemon there. Rank 0 checks; the others cannot.
  EXPECT_NO_THROW(resolve_runtime(proc(0, 4, 0, 2), {{"SLURM_NTASKS", "4"}}, "cpu", 0));
  EXPECT_NO_THROW(resolve_runtime(proc(2, 4, 0, 2), {{"SLURM_NTASKS", "1"}}, "cpu", 0));
  // mpirun -n 2 in a 4-task job: rank 0 sees it.
  EXPECT_THROW(resolve_runtime(proc(0, 2, 0, 2), {{"SLURM_NTASKS", "4"}}, "cpu", 0), satclip::Error);
  // srun without PMI: every task is a singleton, and every task refuses (not only task 0).
  EXPECT_THROW(resolve_runtime(proc(0, 1, 0, 1), {{"SLURM_NTASKS", "2"}}, "cpu", 0), satclip::Error);
  EXPECT_THROW(resolve_runtime(proc(0, 2, 0, 2), {{"SLURM_NTASKS", "x"}}, "cpu", 0), satclip::Error);
  // 2^32 + 1 is not read as 1 (a cast of strtol's long wrapped it before); a blank is not part of a count.
  EXPECT_THROW(resolve_runtime(proc(0, 1, 0, 1), {{"SLURM_NTASKS", "4294967297"}}, "cpu", 0), satclip::Error);
  EXPECT_THROW(resolve_runtime(proc(0, 1, 0, 1), {{"SLURM_NTASKS", " 1"}}, "cpu", 0), satclip::Error);
}

TEST(Runtime, HostsAreListedWithTheirRanks) {
  satclip::dist::Runtime r;
  EXPECT_EQ(describe_hosts(r), "");
  r.hosts = {"node1", "node1", "node2", "node2", "node1"};
  EXPECT_EQ(describe_hosts(r), "node1: ranks 0-1,4; node2: ranks 2-3");
  r.hosts = {"a", "b"};
  EXPECT_EQ(describe_hosts(r), "a: rank 0; b: rank 1");
  EXPECT_EQ(r.host_of(1), "b");
  EXPECT_EQ(r.host_of(2), "?");
}

TEST(CpuShare, MatchesTheLaunchersBindings) {
  // mpirun -n 2 --bind-to none on 16 CPUs: both ranks may run anywhere.
  EXPECT_DOUBLE_EQ(cpu_share({range(0, 15), range(0, 15)}, 0), 8);
  // mpirun -n 2 (Open MPI binds each rank to one core): one each, whatever the node has.
  EXPECT_DOUBLE_EQ(cpu_share({cpus({0}), cpus({1})}, 1), 1);
  // mpirun -n 8 on two 64-CPU packages (bound to a package): 4 ranks share each package.
  std::vector<CpuMask> packages;
  for (int r = 0; r < 8; ++r) packages.push_back(r < 4 ? range(0, 63) : range(64, 127));
  EXPECT_DOUBLE_EQ(cpu_share(packages, 2), 16);
  EXPECT_DOUBLE_EQ(cpu_share(packages, 5), 16);
  // One rank bound to CPUs 0-7 (taskset), the other unbound: the bound CPUs count half for each.
  EXPECT_DOUBLE_EQ(cpu_share({range(0, 7), range(0, 15)}, 0), 4);
  EXPECT_DOUBLE_EQ(cpu_share({range(0, 7), range(0, 15)}, 1), 12);
  // Overlapping lists, and masks of different lengths (CPU 100 lies in the second word only).
  EXPECT_DOUBLE_EQ(cpu_share({range(0, 3), range(2, 5)}, 0), 3);
  EXPECT_DOUBLE_EQ(cpu_share({cpus({0, 100}), cpus({0})}, 0), 1.5);
  EXPECT_DOUBLE_EQ(cpu_share({cpus({0, 100}), cpus({0})}, 1), 0.5);
  EXPECT_THROW(cpu_share({cpus({0})}, 1), satclip::Error);
}

TEST(CpuShare, ThisProcessHasAtLeastOneCpu) {
  const auto mine = satclip::dist::this_process_cpus();
  EXPECT_GE(satclip::dist::count_cpus(mine), 1);
  EXPECT_DOUBLE_EQ(cpu_share({mine}, 0), satclip::dist::count_cpus(mine));
}

TEST(CpuShare, WarnsWhenTheLauncherLeftARankOneOrTwoCpus) {
  // mpirun -n 1 on a 16-CPU node binds the rank to core 0.
  const auto warning = cpu_binding_warning(CpuPlacement{16, 1, 1}, 1);
  EXPECT_NE(warning.find("bound it to 1 of the node's 16"), std::string::npos) << warning;
  EXPECT_NE(warning.find("--bind-to none"), std::string::npos) << warning;
  EXPECT_NE(warning.find("--map-by slot:PE=16"), std::string::npos) << warning;
  EXPECT_NE(cpu_binding_warning(CpuPlacement{64, 2, 2}, 2), "");
  EXPECT_EQ(cpu_binding_warning(CpuPlacement{16, 16, 8}, 2), "");  // unbound
  EXPECT_EQ(cpu_binding_warning(CpuPlacement{16, 4, 4}, 4), "");   // bound, but to enough CPUs
  EXPECT_EQ(cpu_binding_warning(CpuPlacement{4, 1, 1}, 2), "");    // 2 per rank is all the node has
  EXPECT_EQ(cpu_binding_warning(CpuPlacement{2, 1, 1}, 1), "");
}

TEST(Runtime, RealMpiWorldIsConsistent) {
  const auto p = satclip::dist::query_mpi_process();
  EXPECT_GE(p.world_size, 1);
  EXPECT_LT(p.rank, p.world_size);
  EXPECT_LT(p.local_rank, p.local_size);
}
