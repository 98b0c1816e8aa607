// all_gather_with_grad: forward equals concatenation; backward matches the single-process
// gradient of the same loss on the concatenated batch (rows of different size on each rank).
#include <gtest/gtest.h>

#include "distributed/all_gather.h"
#include "distributed/mpi_communicator.h"
#include "support/dist_test_util.h"

using namespace satclip::dist;

namespace {

constexpr int64_t kBaseRows = 2;  // rank r holds kBaseRows + r rows
int64_t rows_of(int r) { return satclip::testing::rows_of(r, kBaseRows); }
int64_t offset_of(int r) { return satclip::testing::offset_of(r, kBaseRows); }

// Row-wise contrastive-style term h_i = logsumexp_j(G_i . G_j) - G_i . G_i, summed over `rows`.
torch::Tensor row_terms(const torch::Tensor& g, int64_t start, int64_t count) {
  const auto rows = g.narrow(0, start, count);
  const auto logits = rows.mm(g.t());
  return (torch::logsumexp(logits, 1) - (rows * rows).sum(1) + rows.tanh().sum(1)).sum();
}

class AllGatherGrad : public ::testing::TestWithParam<torch::ScalarType> {
 protected:
  MpiCommunicator comm{MPI_COMM_WORLD};
  int rank = comm.rank();
  int world = comm.size();
  int64_t total = offset_of(world);
  torch::Tensor global_x() const {
    torch::manual_seed(1234);
    return torch::randn({total, 6}, torch::TensorOptions().dtype(GetParam()));
  }
  // float64: 1e-12 relative; float32: the rule of tests/support/grad_tolerance.h, against the
  // reference gradient's own rounding error (float32 vs float64). Returns "" when it holds.
  std::string mismatch(const torch::Tensor& got, const torch::Tensor& ref) const {
    double tol = 0;
    if (GetParam() != torch::kDouble) {
      auto x64 = global_x().to(torch::kDouble).requires_grad_(true);
      row_terms(x64, 0, total).backward();
      tol = satclip::testing::float32_tolerance(ref, x64.grad().narrow(0, offset_of(rank), rows_of(rank)));
    }
    return satclip::testing::mismatch("x", got, ref, tol, 1e-12);
  }
  // This rank's rows of the single-process gradient of the global loss.
  torch::Tensor reference_grad() const {
    auto ref_x = global_x().requires_grad_(true);
    row_terms(ref_x, 0, total).backward();
    return ref_x.grad().narrow(0, offset_of(rank), rows_of(rank));
  }
  // This rank's rows of the global input, as a fresh leaf.
  torch::Tensor my_rows() const {
    return global_x().narrow(0, offset_of(rank), rows_of(rank)).clone().requires_grad_(true);
  }
};

}  // namespace

TEST_P(AllGatherGrad, ForwardIsTheConcatenation) {
  const auto x = global_x();
  const auto mine = x.narrow(0, offset_of(rank), rows_of(rank)).clone();
  EXPECT_TRUE(torch::equal(all_gather_with_grad(mine, comm), x));
}

TEST_P(AllGatherGrad, GlobalLossGradientIsWorldTimesSingleProcessGradient) {
  const auto ref = reference_grad();
  auto mine = my_rows();
  const auto g = all_gather_with_grad(mine, comm);
  row_terms(g, 0, total).backward();  // every rank computes the same global loss
  // Each rank's copy of the loss contributes once: world x the true gradient, which the
  // gradient averaging across ranks divides back out.
  EXPECT_EQ(mismatch(mine.grad() / world, ref), "");
}

TEST_P(AllGatherGrad, LocalLossGradientEqualsSingleProcessGradient) {
  const auto ref = reference_grad();
  auto mine = my_rows();
  const auto g = all_gather_with_grad(mine, comm);
  row_terms(g, offset_of(rank), rows_of(rank)).backward();  // only this rank's rows
  EXPECT_EQ(mismatch(mine.grad(), ref), "");
}

INSTANTIATE_TEST_SUITE_P(Dtypes, AllGatherGrad, ::testing::Values(torch::kFloat, torch::kDouble),
                         [](const auto& info) { return std::string(c10::toString(info.param)); });
