// Runtime: launch checks and device choice for any (rank, world, local) placement.
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "distributed/runtime.h"

using satclip::dist::ProcessInfo;
using satclip::dist::resolve_runtime;

TEST(Runtime, CpuWhenNoGpuVisible) {
  const auto r = resolve_runtime({1, 4, 1, 2}, {}, "auto", 0);
  EXPECT_EQ(r.rank, 1);
  EXPECT_EQ(r.world_size, 4);
  EXPECT_EQ(r.local_rank, 1);
  EXPECT_TRUE(r.device.is_cpu());
  EXPECT_FALSE(r.ranks_share_gpu);
}

TEST(Runtime, AutoPicksLocalRankModuloVisibleGpus) {
  EXPECT_EQ(resolve_runtime({5, 8, 1, 4}, {}, "auto", 4).device.index(), 1);
  EXPECT_EQ(resolve_runtime({3, 8, 3, 4}, {}, "auto", 2).device.index(), 1);
  EXPECT_TRUE(resolve_runtime({3, 8, 3, 4}, {}, "auto", 2).ranks_share_gpu);
  EXPECT_FALSE(resolve_runtime({3, 8, 3, 4}, {}, "auto", 4).ranks_share_gpu);
}

TEST(Runtime, ExplicitDevices) {
  EXPECT_TRUE(resolve_runtime({0, 1, 0, 1}, {}, "cpu", 8).device.is_cpu());
  EXPECT_EQ(resolve_runtime({0, 1, 0, 1}, {}, "cuda:3", 8).device.index(), 3);
  EXPECT_THROW(resolve_runtime({0, 1, 0, 1}, {}, "cuda:8", 8), satclip::Error);
  EXPECT_THROW(resolve_runtime({0, 1, 0, 1}, {}, "cuda", 0), satclip::Error);
  EXPECT_THROW(resolve_runtime({0, 1, 0, 1}, {}, "tpu", 0), satclip::Error);
}

TEST(Runtime, SlurmTaskCountMustMatchWorld) {
  EXPECT_NO_THROW(resolve_runtime({0, 4, 0, 4}, {{"SLURM_NTASKS", "4"}}, "cpu", 0));
  try {
    resolve_runtime({0, 1, 0, 1}, {{"SLURM_NTASKS", "4"}}, "cpu", 0);
    FAIL() << "expected an error";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("SLURM_NTASKS=4"), std::string::npos) << e.message();
    EXPECT_NE(e.hint().find("srun --mpi=pmix"), std::string::npos) << e.hint();
  }
  EXPECT_THROW(resolve_runtime({0, 2, 0, 2}, {{"SLURM_NTASKS", "x"}}, "cpu", 0), satclip::Error);
}

TEST(Runtime, RealMpiWorldIsConsistent) {
  const auto p = satclip::dist::query_mpi_process();
  EXPECT_GE(p.world_size, 1);
  EXPECT_LT(p.rank, p.world_size);
  EXPECT_LT(p.local_rank, p.local_size);
}
