// Every collective of the MPI communicator, for every dtype, against values computed locally
// from all ranks' inputs. Runs under mpiexec -n 2 and -n 3 (and alone).
#include <numeric>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "distributed/local_communicator.h"
#include "distributed/mpi_communicator.h"
#include "support/dist_test_util.h"

using namespace satclip::dist;
using satclip::testing::rank_values;
using satclip::testing::uneven_rows;

namespace {

class Collectives : public ::testing::TestWithParam<torch::ScalarType> {
 protected:
  MpiCommunicator comm{MPI_COMM_WORLD};
  int rank = comm.rank();
  int world = comm.size();
};

torch::Tensor expected_reduce(int world, ReduceOp op, int64_t rows, int64_t cols) {
  auto acc = rank_values(0, rows, cols, torch::kDouble);
  for (int r = 1; r < world; ++r) {
    const auto v = rank_values(r, rows, cols, torch::kDouble);
    acc = op == ReduceOp::kMax ? torch::maximum(acc, v) : acc + v;
  }
  return op == ReduceOp::kAvg ? acc / world : acc;
}

}  // namespace

TEST_P(Collectives, AllReduceSumAvgMax) {
  const auto dtype = GetParam();
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax}) {
    if (op == ReduceOp::kAvg && !torch::isFloatingType(dtype)) continue;
    auto t = rank_values(rank, 5, 3, dtype);
    comm.all_reduce(t, op);
    EXPECT_EQ(t.scalar_type(), dtype);
    const auto expect = expected_reduce(world, op, 5, 3);
    const double tol = dtype == torch::kBFloat16 ? 1e-2 : 1e-6;  // avg by 3 is inexact in bf16
    EXPECT_TRUE(torch::allclose(t.to(torch::kDouble), expect, tol, 0)) << to_string(op) << "\n" << t;
  }
}

TEST_P(Collectives, AllGatherUnequalSizes) {
  const auto dtype = GetParam();
  const auto mine = rank_values(rank, uneven_rows(rank), 4, dtype);
  const auto got = comm.all_gather(mine);
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < world; ++r) parts.push_back(rank_values(r, uneven_rows(r), 4, dtype));
  EXPECT_TRUE(torch::equal(got, torch::cat(parts, 0)));
}

TEST_P(Collectives, ReduceScatterUnequalCounts) {
  const auto dtype = GetParam();
  std::vector<int64_t> counts;
  for (int r = 0; r < world; ++r) counts.push_back(uneven_rows(r));
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  const auto input = rank_values(rank, total, 2, dtype);
  const auto got = comm.reduce_scatter(input, counts, ReduceOp::kSum);
  const int64_t start = std::accumulate(counts.begin(), counts.begin() + rank, int64_t{0});
  const auto expect = expected_reduce(world, ReduceOp::kSum, total, 2).narrow(0, start, counts[rank]);
  EXPECT_EQ(got.sizes(), expect.sizes());
  EXPECT_TRUE(torch::equal(got.to(torch::kDouble), expect)) << got;
}

TEST_P(Collectives, BroadcastFromEveryRoot) {
  const auto dtype = GetParam();
  for (int root = 0; root < world; ++root) {
    auto t = rank_values(rank, 3, 3, dtype);
    comm.broadcast(t, root);
    EXPECT_TRUE(torch::equal(t, rank_values(root, 3, 3, dtype))) << "root " << root;
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Collectives,
                         ::testing::Values(torch::kFloat, torch::kDouble, torch::kLong, torch::kBFloat16),
                         [](const auto& info) { return std::string(c10::toString(info.param)); });

TEST(CollectivesMisc, ReduceScatterAverageAndMax) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  const int world = comm.size();
  std::vector<int64_t> counts(world, 2);
  const auto input = rank_values(comm.rank(), 2 * world, 3, torch::kDouble);
  for (ReduceOp op : {ReduceOp::kAvg, ReduceOp::kMax}) {
    const auto got = comm.reduce_scatter(input, counts, op);
    const auto expect = expected_reduce(world, op, 2 * world, 3).narrow(0, 2 * comm.rank(), 2);
    EXPECT_TRUE(torch::allclose(got, expect, 1e-12, 0)) << to_string(op);
  }
}

TEST(CollectivesMisc, NonContiguousTensorsAreReducedInPlace) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  auto base = rank_values(comm.rank(), 4, 6, torch::kFloat);
  auto view = base.t();  // non-contiguous
  comm.all_reduce(view, ReduceOp::kSum);
  EXPECT_TRUE(torch::equal(base.to(torch::kDouble), expected_reduce(comm.size(), ReduceOp::kSum, 4, 6)));
}

TEST(CollectivesMisc, ManyOutstandingAsyncReductionsCompleteInOrder) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  std::vector<torch::Tensor> ts;
  std::vector<WorkPtr> works;
  for (int i = 0; i < 16; ++i) {
    ts.push_back(torch::full({1000 + i}, static_cast<float>(comm.rank() + i)));
    works.push_back(comm.all_reduce_async(ts.back(), ReduceOp::kSum));
  }
  for (auto& w : works) w->wait();
  const int world = comm.size();
  for (int i = 0; i < 16; ++i) {
    const float expect = world * (world - 1) / 2.0f + world * i;
    EXPECT_TRUE(torch::all(ts[i] == expect).item<bool>()) << i;
  }
}

TEST(CollectivesMisc, CloneRunsIndependently) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  auto other = comm.clone();
  auto a = torch::ones({8});
  auto b = torch::full({8}, 2.0f);
  auto wa = other->all_reduce_async(a, ReduceOp::kSum);
  comm.all_reduce(b, ReduceOp::kSum);
  wa->wait();
  EXPECT_TRUE(torch::all(a == comm.size()).item<bool>());
  EXPECT_TRUE(torch::all(b == 2.0f * comm.size()).item<bool>());
  comm.barrier();
  other->barrier();
}

TEST(CollectivesMisc, LayoutMismatchFailsOnEveryRankInsteadOfHanging) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  if (comm.size() < 2) GTEST_SKIP() << "needs two ranks";
  auto t = torch::ones({comm.rank() == 1 ? 5 : 4});
  try {
    comm.all_reduce(t, ReduceOp::kSum);
    FAIL() << "expected a layout error";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("ranks disagree"), std::string::npos) << e.message();
  }
  auto g = torch::ones({2, comm.rank() == 1 ? 3 : 2});
  EXPECT_THROW(comm.all_gather(g), satclip::Error);
}

TEST(CollectivesMisc, IntegerAverageIsRejected) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  auto t = torch::ones({3}, torch::kLong);
  EXPECT_THROW(comm.all_reduce(t, ReduceOp::kAvg), satclip::Error);
  LocalCommunicator local;
  EXPECT_THROW(local.all_reduce(t, ReduceOp::kAvg), satclip::Error);
}

TEST(CollectivesMisc, BadCountsAreRejected) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  auto t = torch::ones({5, 2});
  EXPECT_THROW(comm.reduce_scatter(t, {1}, ReduceOp::kSum), satclip::Error);
  EXPECT_THROW(comm.reduce_scatter(t, std::vector<int64_t>(comm.size(), 7), ReduceOp::kSum),
               satclip::Error);
}

TEST(CollectivesMisc, LocalCommunicatorIsIdentity) {
  LocalCommunicator local;
  auto t = torch::arange(6.0).reshape({3, 2});
  EXPECT_TRUE(torch::equal(local.all_gather(t), t));
  EXPECT_TRUE(torch::equal(local.reduce_scatter(t, {3}, ReduceOp::kSum), t));
  auto u = t.clone();
  local.all_reduce(u, ReduceOp::kAvg);
  EXPECT_TRUE(torch::equal(u, t));
}
