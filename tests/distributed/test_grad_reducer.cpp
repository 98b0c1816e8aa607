// The central contract: after GradReducer, every rank holds the gradient a single process
// computes on the concatenated global batch (conv + MLP model, unequal per-rank batches).
#include <functional>
#include <map>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/base/text.h"
#include "distributed/all_gather.h"
#include "distributed/grad_reducer.h"
#include "distributed/mpi_communicator.h"
#include "distributed/param_sync.h"
#include "support/dist_test_util.h"

using namespace satclip::dist;

namespace {

struct NetImpl : torch::nn::Module {
  NetImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)));
    fc1 = register_module("fc1", torch::nn::Linear(4 * 6 * 6, 16));
    fc2 = register_module("fc2", torch::nn::Linear(16, 5));
    aux = register_module("aux", torch::nn::Linear(5, 5));
  }
  torch::Tensor forward(const torch::Tensor& x, bool use_aux = false) {
    auto h = torch::relu(conv->forward(x)).flatten(1);
    auto out = fc2->forward(torch::relu(fc1->forward(h)));
    return use_aux ? aux->forward(out) : out;
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, aux{nullptr};
};
TORCH_MODULE(Net);

constexpr int64_t kBaseRows = 3;  // rank r holds kBaseRows + r rows
int64_t rows_of(int r) { return satclip::testing::rows_of(r, kBaseRows); }
int64_t offset_of(int r) { return satclip::testing::offset_of(r, kBaseRows); }

NamedTensors named_params(const Net& net) {
  NamedTensors out;
  for (const auto& p : net->named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

struct Setup {
  torch::ScalarType dtype;
  int rank, world;
  int64_t total = 0;
  torch::Tensor x, y;
  Net net{nullptr}, ref{nullptr};
};

Setup make_setup(torch::ScalarType dtype, const Communicator& comm) {
  Setup s;
  s.dtype = dtype;
  s.rank = comm.rank();
  s.world = comm.size();
  s.total = offset_of(s.world);
  torch::manual_seed(99);
  s.x = torch::randn({s.total, 3, 8, 8}).to(dtype);
  s.y = torch::randn({s.total, 5}).to(dtype);
  torch::manual_seed(7);
  s.net = Net();
  s.net->to(dtype);
  torch::manual_seed(7);
  s.ref = Net();
  s.ref->to(dtype);
  // `aux` takes part only in the unused-parameter test; frozen, it is outside the reducer.
  s.net->aux->weight.requires_grad_(false);
  s.net->aux->bias.requires_grad_(false);
  return s;
}

// Per-sample squared error, summed over `rows`, scaled by `scale`.
torch::Tensor loss_on(Net& net, const Setup& s, int64_t start, int64_t count, double scale) {
  const auto out = net->forward(s.x.narrow(0, start, count));
  return (out - s.y.narrow(0, start, count)).pow(2).sum() * scale;
}

// Single-process reference: mean loss over the whole global batch.
void reference_backward(Setup& s) { loss_on(s.ref, s, 0, s.total, 1.0 / s.total).backward(); }

using OutputLoss = std::function<torch::Tensor(const torch::Tensor& outputs, const Setup& s)>;

// The reference loss as a function of the network's outputs on the whole batch: the mean
// per-sample squared error.
torch::Tensor mean_squared_error(const torch::Tensor& out, const Setup& s) {
  return (out - s.y.to(out.scalar_type())).pow(2).sum() / double(s.total);
}

// The reference gradients in float64 (the truth the float32 rule measures rounding against).
std::map<std::string, torch::Tensor> reference_grads64(const Setup& s, const OutputLoss& loss) {
  Net net64;
  net64->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    const auto src = s.ref->named_parameters();
    for (auto& p : net64->named_parameters()) p.value().copy_(src[p.key()]);
  }
  loss(net64->forward(s.x.to(torch::kDouble)), s).backward();
  std::map<std::string, torch::Tensor> grads;
  for (const auto& p : net64->named_parameters()) {
    if (p.value().grad().defined()) grads[p.key()] = p.value().grad();
  }
  return grads;
}

// float64 to 1e-12 relative; float32 by the rule of tests/support/grad_tolerance.h.
void expect_matches_reference(const Setup& s, const OutputLoss& loss = mean_squared_error) {
  const auto ref = s.ref->named_parameters();
  const auto ref64 = s.dtype == torch::kDouble ? std::map<std::string, torch::Tensor>{} : reference_grads64(s, loss);
  for (const auto& p : s.net->named_parameters()) {
    if (!p.value().requires_grad() || satclip::starts_with(p.key(), "aux")) continue;
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    const auto& want = ref[p.key()].grad();
    const double tol = ref64.count(p.key()) ? satclip::testing::float32_tolerance(want, ref64.at(p.key())) : 0.0;
    EXPECT_EQ(satclip::testing::mismatch(p.key(), p.value().grad(), want, tol, 1e-12), "") << "on rank " << s.rank;
  }
}

class GradContract : public ::testing::TestWithParam<torch::ScalarType> {
 protected:
  MpiCommunicator comm{MPI_COMM_WORLD};
};

}  // namespace

TEST_P(GradContract, DefaultBucketsMatchSingleProcess) {
  auto s = make_setup(GetParam(), comm);
  broadcast_parameters(parameters_and_buffers(*s.net), comm);
  GradReducer reducer(named_params(s.net), comm);
  const double scale = static_cast<double>(s.world) / s.total;
  loss_on(s.net, s, offset_of(s.rank), rows_of(s.rank), scale).backward();
  EXPECT_EQ(reducer.launched_buckets(), reducer.bucket_count()) << "buckets should start during backward";
  reducer.finish();
  reference_backward(s);
  expect_matches_reference(s);
}

TEST_P(GradContract, TinyBucketsMatchSingleProcess) {
  auto s = make_setup(GetParam(), comm);
  GradReducer reducer(named_params(s.net), comm, {/*first_bucket_bytes=*/64, /*bucket_bytes=*/256});
  EXPECT_GE(reducer.bucket_count(), 5);  // about one bucket per parameter
  const double scale = static_cast<double>(s.world) / s.total;
  for (int step = 0; step < 2; ++step) {  // a second step reuses the buckets
    s.net->zero_grad();
    loss_on(s.net, s, offset_of(s.rank), rows_of(s.rank), scale).backward();
    reducer.finish();
  }
  reference_backward(s);
  expect_matches_reference(s);
}

TEST_P(GradContract, FrozenParametersAreExcluded) {
  auto s = make_setup(GetParam(), comm);
  s.net->conv->weight.requires_grad_(false);
  s.net->conv->bias.requires_grad_(false);
  GradReducer reducer(named_params(s.net), comm);
  for (int64_t b = 0; b < reducer.bucket_count(); ++b) {
    for (const auto& name : reducer.bucket_names(b)) EXPECT_EQ(name.rfind("conv", 0), std::string::npos);
  }
  loss_on(s.net, s, offset_of(s.rank), rows_of(s.rank), static_cast<double>(s.world) / s.total).backward();
  reducer.finish();
  EXPECT_FALSE(s.net->conv->weight.grad().defined());
  reference_backward(s);
  expect_matches_reference(s);
}

TEST_P(GradContract, AccumulationOverTwoMicroBatches) {
  auto s = make_setup(GetParam(), comm);
  GradReducer reducer(named_params(s.net), comm, {256, 1024});
  const double scale = static_cast<double>(s.world) / s.total;
  const int64_t first = rows_of(s.rank) / 2;
  {
    auto guard = reducer.no_sync();
    loss_on(s.net, s, offset_of(s.rank), first, scale).backward();
    EXPECT_EQ(reducer.launched_buckets(), 0);
  }
  loss_on(s.net, s, offset_of(s.rank) + first, rows_of(s.rank) - first, scale).backward();
  reducer.finish();
  reference_backward(s);
  expect_matches_reference(s);
}

TEST_P(GradContract, WithoutOverlapEverythingIsReducedInFinish) {
  auto s = make_setup(GetParam(), comm);
  GradReducerOptions options;
  options.overlap = false;
  GradReducer reducer(named_params(s.net), comm, options);
  loss_on(s.net, s, offset_of(s.rank), rows_of(s.rank), static_cast<double>(s.world) / s.total).backward();
  EXPECT_EQ(reducer.launched_buckets(), 0);
  reducer.finish();
  reference_backward(s);
  expect_matches_reference(s);
}

TEST_P(GradContract, GatheredGlobalLossMatchesSingleProcess) {
  // Embeddings are gathered with gradient and every rank computes the same global loss.
  auto s = make_setup(GetParam(), comm);
  GradReducer reducer(named_params(s.net), comm, {512, 2048});
  auto global_loss = [](const torch::Tensor& z) {
    return torch::logsumexp(z.mm(z.t()) * 0.5, 1).mean() + z.tanh().sum(1).mean();
  };
  const auto mine = s.net->forward(s.x.narrow(0, offset_of(s.rank), rows_of(s.rank)));
  global_loss(all_gather_with_grad(mine, comm)).backward();
  reducer.finish();
  global_loss(s.ref->forward(s.x)).backward();
  expect_matches_reference(s, [&](const torch::Tensor& out, const auto&) { return global_loss(out); });
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GradContract, ::testing::Values(torch::kFloat, torch::kDouble),
                         [](const auto& info) { return std::string(c10::toString(info.param)); });

TEST(GradReducer, ParameterWithoutGradientIsHandledIdenticallyOnAllRanks) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  auto s = make_setup(torch::kFloat, comm);
  s.net->aux->weight.requires_grad_(true);
  s.net->aux->bias.requires_grad_(true);
  GradReducer reducer(named_params(s.net), comm, {128, 512});
  // Only rank 0 uses `aux`; nobody uses it on the other ranks.
  const auto out = s.net->forward(s.x.narrow(0, offset_of(s.rank), rows_of(s.rank)), s.rank == 0);
  out.pow(2).sum().backward();
  reducer.finish();
  const auto grads = comm.all_gather(s.net->aux->weight.grad().unsqueeze(0));
  for (int r = 1; r < comm.size(); ++r) EXPECT_TRUE(torch::equal(grads[r], grads[0])) << "rank " << r;
  EXPECT_GT(grads[0].abs().sum().item<float>(), 0.0f);
}

TEST(GradReducer, SecondBackwardWithoutFinishIsAnError) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  auto s = make_setup(torch::kFloat, comm);
  GradReducer reducer(named_params(s.net), comm);
  loss_on(s.net, s, 0, 2, 1.0).backward();
  EXPECT_THROW(loss_on(s.net, s, 0, 2, 1.0).backward(), std::exception);
  reducer.finish();  // every rank still completes the step identically
}

TEST(ParamSync, BroadcastMakesRanksEqualAndMismatchIsNamed) {
  MpiCommunicator comm(MPI_COMM_WORLD);
  torch::manual_seed(comm.rank() + 100);  // deliberately different initialisation per rank
  Net net;
  broadcast_parameters(parameters_and_buffers(*net), comm);
  const auto w = comm.all_gather(net->fc1->weight.detach().unsqueeze(0));
  for (int r = 1; r < comm.size(); ++r) EXPECT_TRUE(torch::equal(w[r], w[0]));

  if (comm.size() < 2) return;
  NamedTensors odd = parameters_and_buffers(*net);
  if (comm.rank() == 1) odd[0].second = torch::zeros({2, 2});
  try {
    check_same_parameters(odd, comm);
    FAIL() << "expected a mismatch error";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("rank 1"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find(odd[0].first), std::string::npos) << e.message();
  }
}
