// GPU checks (label gpu; skipped without a CUDA device): the NCCL communicator (CUDA tensors, and
// CPU tensors staged through the device), the MPI communicator with CUDA tensors staged through
// the host, all_gather_with_grad and GradReducer on
// CUDA. Registered at np 1 (NCCL and MPI) and np 2 (MPI; NCCL too when there are two GPUs).
#include <numeric>

#include <gtest/gtest.h>

#include "distributed/all_gather.h"
#include "distributed/communicator.h"
#include "distributed/grad_reducer.h"
#include "distributed/runtime.h"
#include "support/dist_test_util.h"

using namespace satclip::dist;
using satclip::testing::rank_values;
using satclip::testing::relative_error;
using satclip::testing::uneven_rows;

namespace {

class GpuComm : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    runtime_ = make_runtime("cuda");
    if (GetParam() == "nccl") {
      if (!nccl_compiled_in()) GTEST_SKIP() << "built without NCCL";
      // Two ranks cannot share one GPU in an NCCL communicator (ncclInvalidUsage).
      if (runtime_.ranks_share_gpu) GTEST_SKIP() << "NCCL needs one GPU per rank";
    }
    const auto backend = satclip::parse_option<satclip::Backend>(GetParam());
    ASSERT_TRUE(backend.has_value()) << GetParam();
    comm_ = make_communicator({*backend, 60.0}, runtime_);
  }
  torch::Tensor on_gpu(const torch::Tensor& t) const { return t.to(runtime_.device); }
  torch::Tensor expected_sum(int64_t rows, int64_t cols) const {
    auto acc = rank_values(0, rows, cols, torch::kDouble);
    for (int r = 1; r < comm_->size(); ++r) acc += rank_values(r, rows, cols, torch::kDouble);
    return acc;
  }

  Runtime runtime_;
  std::unique_ptr<Communicator> comm_;
};

}  // namespace

TEST_P(GpuComm, AllReduceEveryDtypeAndOp) {
  const int world = comm_->size(), rank = comm_->rank();
  for (auto dtype : {torch::kFloat, torch::kDouble, torch::kBFloat16, torch::kLong}) {
    auto t = on_gpu(rank_values(rank, 4, 5, dtype));
    comm_->all_reduce(t, ReduceOp::kSum);
    EXPECT_TRUE(t.is_cuda());
    EXPECT_TRUE(torch::equal(t.cpu().to(torch::kDouble), expected_sum(4, 5))) << dtype;
    auto m = on_gpu(rank_values(rank, 4, 5, dtype));
    comm_->all_reduce(m, ReduceOp::kMax);
    EXPECT_TRUE(torch::equal(m.cpu().to(torch::kDouble), rank_values(world - 1, 4, 5, torch::kDouble)));
  }
  auto a = on_gpu(rank_values(rank, 4, 5, torch::kFloat));
  comm_->all_reduce(a, ReduceOp::kAvg);
  EXPECT_TRUE(torch::allclose(a.cpu().to(torch::kDouble), expected_sum(4, 5) / world, 1e-6, 0));
}

TEST_P(GpuComm, GatherScatterBroadcastBarrier) {
  const int world = comm_->size(), rank = comm_->rank();
  const auto got = comm_->all_gather(on_gpu(rank_values(rank, uneven_rows(rank), 3, torch::kFloat)));
  std::vector<torch::Tensor> parts;
  std::vector<int64_t> counts;
  for (int r = 0; r < world; ++r) {
    parts.push_back(rank_values(r, uneven_rows(r), 3, torch::kFloat));
    counts.push_back(uneven_rows(r));
  }
  EXPECT_TRUE(torch::equal(got.cpu(), torch::cat(parts, 0)));

  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  const auto rs = comm_->reduce_scatter(on_gpu(rank_values(rank, total, 3, torch::kFloat)), counts, ReduceOp::kSum);
  const int64_t start = std::accumulate(counts.begin(), counts.begin() + rank, int64_t{0});
  EXPECT_TRUE(torch::equal(rs.cpu().to(torch::kDouble), expected_sum(total, 3).narrow(0, start, counts[rank])));

  auto b = on_gpu(rank_values(rank, 2, 2, torch::kFloat));
  comm_->broadcast(b, world - 1);
  EXPECT_TRUE(torch::equal(b.cpu(), rank_values(world - 1, 2, 2, torch::kFloat)));
  comm_->barrier();
}

// CPU tensors given to a CUDA run's communicator (the trainer's flags, validation indices): the
// same results, back on the CPU (NCCL stages them through the device, MPI reduces them as they are).
TEST_P(GpuComm, CpuTensorsComeBackOnTheCpu) {
  const int world = comm_->size(), rank = comm_->rank();
  auto t = rank_values(rank, 4, 5, torch::kDouble);
  comm_->all_reduce(t, ReduceOp::kSum);
  EXPECT_TRUE(t.device().is_cpu());
  EXPECT_TRUE(torch::equal(t, expected_sum(4, 5)));
  const auto got = comm_->all_gather(rank_values(rank, uneven_rows(rank), 3, torch::kLong));
  std::vector<torch::Tensor> parts;
  std::vector<int64_t> counts;
  for (int r = 0; r < world; ++r) {
    parts.push_back(rank_values(r, uneven_rows(r), 3, torch::kLong));
    counts.push_back(uneven_rows(r));
  }
  EXPECT_TRUE(got.device().is_cpu());
  EXPECT_TRUE(torch::equal(got, torch::cat(parts, 0)));
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  const auto rs = comm_->reduce_scatter(rank_values(rank, total, 3, torch::kDouble), counts, ReduceOp::kSum);
  const int64_t start = std::accumulate(counts.begin(), counts.begin() + rank, int64_t{0});
  EXPECT_TRUE(rs.device().is_cpu());
  EXPECT_TRUE(torch::equal(rs, expected_sum(total, 3).narrow(0, start, counts[rank])));
  auto b = rank_values(rank, 2, 2, torch::kFloat);
  comm_->broadcast(b, world - 1);
  EXPECT_TRUE(b.device().is_cpu());
  EXPECT_TRUE(torch::equal(b, rank_values(world - 1, 2, 2, torch::kFloat)));
}

TEST_P(GpuComm, AllGatherWithGradOnCuda) {
  const int world = comm_->size(), rank = comm_->rank();
  torch::manual_seed(3);
  const auto x = torch::randn({3 * world, 4}, torch::kDouble);
  auto ref = x.clone().requires_grad_(true);
  auto loss = [](const torch::Tensor& g) { return torch::logsumexp(g.mm(g.t()), 1).sum(); };
  loss(ref).backward();
  auto mine = on_gpu(x.narrow(0, 3 * rank, 3)).detach().requires_grad_(true);
  loss(all_gather_with_grad(mine, *comm_)).backward();
  EXPECT_LE(relative_error(mine.grad() / world, ref.grad().narrow(0, 3 * rank, 3)), 1e-12);
}

TEST_P(GpuComm, GradReducerMatchesSingleProcessOnCuda) {
  const int world = comm_->size(), rank = comm_->rank();
  torch::manual_seed(11);
  const auto x = torch::randn({4 * world, 16}, torch::kDouble);
  torch::manual_seed(5);
  torch::nn::Sequential net(torch::nn::Linear(16, 32), torch::nn::ReLU(), torch::nn::Linear(32, 4));
  torch::manual_seed(5);
  torch::nn::Sequential ref(torch::nn::Linear(16, 32), torch::nn::ReLU(), torch::nn::Linear(32, 4));
  net->to(runtime_.device, torch::kDouble);
  ref->to(torch::kDouble);
  GradReducer::NamedTensors params;
  for (const auto& p : net->named_parameters()) params.emplace_back(p.key(), p.value());
  GradReducer reducer(params, *comm_, {256, 1024});
  net->forward(on_gpu(x.narrow(0, 4 * rank, 4))).pow(2).sum().mul(1.0 / 4).backward();
  reducer.finish();
  ref->forward(x).pow(2).sum().mul(1.0 / (4 * world)).backward();
  const auto refs = ref->named_parameters();
  for (const auto& p : net->named_parameters()) {
    EXPECT_LE(relative_error(p.value().grad(), refs[p.key()].grad()), 1e-12) << p.key();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, GpuComm, ::testing::Values("nccl", "mpi"),
                         [](const auto& info) { return info.param; });
