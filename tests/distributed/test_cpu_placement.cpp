// The CPU placement that query_mpi_process() reports, against what the kernel tells each rank in
// /proc/self/status (Cpus_allowed_list), under the bindings mpiexec really applies. On a 2-core
// machine `mpiexec -n 2` binds each rank to its own core and `-n 3` (oversubscribed) binds none.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "distributed/runtime.h"

namespace {

// CPUs listed in /proc/self/status, e.g. "0-3,8,10-11".
std::set<int> allowed_by_kernel() {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = "Cpus_allowed_list:";
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    std::set<int> cpus;
    std::stringstream list(line.substr(key.size()));
    std::string part;
    while (std::getline(list, part, ',')) {
      const auto dash = part.find('-');
      const int first = std::stoi(part.substr(0, dash));
      const int last = dash == std::string::npos ? first : std::stoi(part.substr(dash + 1));
      for (int c = first; c <= last; ++c) cpus.insert(c);
    }
    return cpus;
  }
  return {};
}

}  // namespace

TEST(CpuPlacement, AgreesWithTheKernelsListsOfTheNodesRanks) {
  const std::set<int> mine = allowed_by_kernel();
  if (mine.empty()) GTEST_SKIP() << "no Cpus_allowed_list in /proc/self/status";
  const auto p = satclip::dist::query_mpi_process();
  EXPECT_EQ(p.cpus.allowed, static_cast<int>(mine.size()));
  EXPECT_GE(p.cpus.node_cpus, p.cpus.allowed);

  // Every rank's list, on every rank (the test runs on one node).
  const int width = 4096;
  std::vector<char> flags(width, 0), all(static_cast<size_t>(width) * p.world_size);
  for (int c : mine) flags.at(static_cast<size_t>(c)) = 1;
  MPI_Allgather(flags.data(), width, MPI_CHAR, all.data(), width, MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::set<int>> lists(static_cast<size_t>(p.world_size));
  std::set<int> used;
  for (int r = 0; r < p.world_size; ++r) {
    for (int c = 0; c < width; ++c) {
      if (!all[static_cast<size_t>(r) * width + c]) continue;
      lists[static_cast<size_t>(r)].insert(c);
      used.insert(c);
    }
  }
  int others_overlap = 0, others_same = 0;
  for (int r = 0; r < p.world_size; ++r) {
    if (r == p.rank) continue;
    const auto& other = lists[static_cast<size_t>(r)];
    others_overlap += std::any_of(other.begin(), other.end(), [&](int c) { return mine.count(c) > 0; });
    others_same += other == mine;
  }
  if (others_overlap == 0) {
    EXPECT_EQ(p.cpus.share, p.cpus.allowed) << "bound to CPUs of its own";
  } else if (others_same == p.world_size - 1) {
    EXPECT_EQ(p.cpus.share, std::max(1, p.cpus.allowed / p.world_size)) << "every rank on the same CPUs";
  }
  // The shares never promise more CPUs than the ranks use together (each at least one).
  int total = 0;
  MPI_Allreduce(&p.cpus.share, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_LE(total, std::max(static_cast<int>(used.size()), p.world_size));
  if (p.rank == 0) {
    std::printf("[ cpus     ] rank 0: %d allowed of %d, share %d; %d rank(s) overlap it\n", p.cpus.allowed,
                p.cpus.node_cpus, p.cpus.share, others_overlap);
  }
}
