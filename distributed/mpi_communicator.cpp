#include "distributed/mpi_communicator.h"

#include <exception>
#include <string>

#include <unistd.h>

#include <climits>
#include <numeric>

#include "core/base/error.h"
#include "distributed/abort.h"
#include "distributed/mpi_check.h"
#include "distributed/staging.h"

namespace satclip::dist {
namespace {

// Work whose MPI part runs on the executor; wait() then writes a staged result back on the
// caller's thread (so CUDA copies happen on the caller's stream).
class MpiWork final : public Work {
 public:
  MpiWork(std::future<void> done, StagedTensor staged)
      : done_(std::move(done)), staged_(std::move(staged)) {}
  void wait() override {
    if (waited_) return;
    waited_ = true;
    done_.get();
    staged_.write_back();
  }

 private:
  std::future<void> done_;
  StagedTensor staged_;
  bool waited_ = false;
};

int to_int_count(int64_t n, const char* op) {
  SATCLIP_CHECK(n <= INT_MAX, cat(op, ": ", n, " elements exceed MPI's int count limit"),
                "split the tensor into smaller pieces");
  return static_cast<int>(n);
}

int64_t row_numel(const torch::Tensor& t) {
  int64_t n = 1;
  for (int64_t d = 1; d < t.dim(); ++d) n *= t.size(d);
  return n;
}

MPI_Datatype reduce_type_or_throw(const torch::Tensor& host, const char* op) {
  MPI_Datatype type = mpi_reduce_type(host.scalar_type());
  SATCLIP_CHECK(type != MPI_DATATYPE_NULL, cat(op, ": dtype ", host.dtype(), " cannot be reduced"),
                "use float32, float64, bfloat16, float16, int32 or int64");
  return type;
}

void check_avg(const torch::Tensor& t, ReduceOp op, const char* name) {
  SATCLIP_CHECK(!(op == ReduceOp::kAvg && !t.is_floating_point()),
                cat(name, " avg on an integer tensor (", t.dtype(), ")"),
                "use sum and divide, or reduce a floating-point tensor");
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm parent, double timeout_s) : timeout_s_(timeout_s) {
  MPI_CHECK(MPI_Comm_dup(parent, &comm_));
  init();
}

MpiCommunicator::MpiCommunicator(Adopt, MPI_Comm owned, double timeout_s) : comm_(owned), timeout_s_(timeout_s) {
  init();
}

void MpiCommunicator::init() {
  MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  MPI_CHECK(MPI_Comm_size(comm_, &size_));
  executor_ = std::make_unique<SerialExecutor>();
  if (timeout_s_ <= 0 || size_ == 1) return;
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  const double limit = timeout_s_;
  SerialExecutor* executor = executor_.get();
  watchdog_ = std::make_unique<StallWatchdog>(
      [executor] { return executor->busy_seconds(); }, limit,
      [world_rank, name = std::string(host), limit](double age) {
        abort_job(cat("error: rank ", world_rank, " on ", name, ": an MPI collective has waited ", static_cast<int>(age),
                      " s for the other ranks (distributed.timeout_s = ", limit,
                      "): a rank or its node is gone, or a rank is stuck\n"
                      "HINT: the launcher's output or Open MPI's 'Peer host' line names the node; raise "
                      "distributed.timeout_s if a step is legitimately this slow"));
      });
}

MpiCommunicator::~MpiCommunicator() {
  watchdog_.reset();  // it reads executor_
  if (std::uncaught_exceptions() > 0) {
    // A failing rank unwinds towards MPI_Abort: the other ranks will never match what is queued or
    // running, so abandon it (and do not free the communicator: MPI_Comm_free is collective).
    executor_->abandon();
    executor_.release();  // NOLINT: leaked on purpose; its thread may still be inside MPI
    return;
  }
  executor_.reset();  // drain queued operations first
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::run(std::function<void()> fn) const { executor_->submit(std::move(fn)).get(); }

std::vector<int64_t> MpiCommunicator::exchange(const std::vector<int64_t>& values) const {
  std::vector<int64_t> all(values.size() * size_);
  const int n = static_cast<int>(values.size());
  MPI_CHECK(MPI_Allgather(values.data(), n, MPI_INT64_T, all.data(), n, MPI_INT64_T, comm_));
  return all;
}

void MpiCommunicator::verify_layout(const char* op, const torch::Tensor& t) const {
  const auto all = exchange({row_numel(t), static_cast<int64_t>(t.scalar_type())});
  for (int r = 0; r < size_; ++r) {
    if (all[2 * r] != all[0] || all[2 * r + 1] != all[1]) {
      SATCLIP_FAIL(cat(op, ": ranks disagree on the tensor layout: rank 0 has ", all[0],
                       " elements per row of dtype ", c10::toString(static_cast<c10::ScalarType>(all[1])),
                       ", rank ", r, " has ", all[2 * r], " of dtype ",
                       c10::toString(static_cast<c10::ScalarType>(all[2 * r + 1]))),
                   "every rank must pass tensors with the same trailing shape and dtype");
    }
  }
}

WorkPtr MpiCommunicator::all_reduce_async(torch::Tensor t, ReduceOp op) {
  check_avg(t, op, "all_reduce");
  StagedTensor staged(t, /*for_reduce=*/true);
  torch::Tensor host = staged.host();
  const MPI_Datatype type = reduce_type_or_throw(host, "all_reduce");
  auto done = executor_->submit([this, host, type, op]() mutable {
    verify_layout("all_reduce", host.view({1, -1}));  // total numel and dtype must agree
    const MPI_Op mpi_op = op == ReduceOp::kMax ? MPI_MAX : MPI_SUM;
    auto* base = static_cast<char*>(host.data_ptr());
    const int64_t elem = host.element_size();
    for (int64_t done_n = 0, n = host.numel(); done_n < n;) {
      const int chunk = static_cast<int>(std::min<int64_t>(n - done_n, INT_MAX / 2));
      MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, base + done_n * elem, chunk, type, mpi_op, comm_));
      done_n += chunk;
    }
    if (op == ReduceOp::kAvg) host.div_(size_);
  });
  return std::make_shared<MpiWork>(std::move(done), std::move(staged));
}

std::vector<int64_t> MpiCommunicator::all_gather_sizes(int64_t n) {
  std::vector<int64_t> sizes;
  run([&] { sizes = exchange({n}); });
  return sizes;
}

torch::Tensor MpiCommunicator::all_gather(const torch::Tensor& t, const std::vector<int64_t>& sizes) {
  SATCLIP_CHECK(t.dim() >= 1, "all_gather needs a tensor with at least one dimension",
                "unsqueeze(0) a scalar first");
  SATCLIP_CHECK(static_cast<int>(sizes.size()) == size_ && sizes[rank_] == t.size(0),
                cat("all_gather: sizes do not match this rank's tensor (", t.size(0), " rows)"),
                "pass the result of all_gather_sizes(t.size(0))");
  StagedTensor staged(t, /*for_reduce=*/false);
  const torch::Tensor host = staged.host();
  const int64_t row_bytes = row_numel(t) * t.element_size();
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  auto shape = t.sizes().vec();
  shape[0] = total;
  torch::Tensor out = torch::empty(shape, host.options());
  std::vector<int> counts(size_), displs(size_);
  int64_t offset = 0;
  for (int r = 0; r < size_; ++r) {
    counts[r] = to_int_count(sizes[r] * row_bytes, "all_gather");
    displs[r] = to_int_count(offset, "all_gather");
    offset += sizes[r] * row_bytes;
  }
  run([&] {
    verify_layout("all_gather", t);
    MPI_CHECK(MPI_Allgatherv(host.data_ptr(), counts[rank_], MPI_BYTE, out.data_ptr(),
                             counts.data(), displs.data(), MPI_BYTE, comm_));
  });
  return out.to(t.device());
}

torch::Tensor MpiCommunicator::reduce_scatter(const torch::Tensor& t,
                                              const std::vector<int64_t>& counts, ReduceOp op) {
  check_counts("reduce_scatter", t, counts, size_);
  check_avg(t, op, "reduce_scatter");
  StagedTensor staged(t, /*for_reduce=*/true);
  const torch::Tensor host = staged.host();
  const MPI_Datatype type = reduce_type_or_throw(host, "reduce_scatter");
  const int64_t per_row = row_numel(t);
  std::vector<int> recv(size_);
  for (int r = 0; r < size_; ++r) recv[r] = to_int_count(counts[r] * per_row, "reduce_scatter");
  auto shape = t.sizes().vec();
  shape[0] = counts[rank_];
  torch::Tensor out = torch::empty(shape, host.options());
  run([&] {
    verify_layout("reduce_scatter", t);
    MPI_CHECK(MPI_Reduce_scatter(host.data_ptr(), out.data_ptr(), recv.data(), type,
                                 op == ReduceOp::kMax ? MPI_MAX : MPI_SUM, comm_));
  });
  if (op == ReduceOp::kAvg) out.div_(size_);
  return out.to(t.device(), t.scalar_type());
}

void MpiCommunicator::broadcast(torch::Tensor t, int root) {
  SATCLIP_CHECK(root >= 0 && root < size_, cat("broadcast root ", root, " is not a rank"),
                cat("use a root in 0..", size_ - 1));
  StagedTensor staged(t, /*for_reduce=*/false);
  const torch::Tensor host = staged.host();
  const int64_t bytes = host.numel() * host.element_size();
  run([&] {
    verify_layout("broadcast", host.view({1, -1}));
    auto* base = static_cast<char*>(host.data_ptr());
    for (int64_t done = 0; done < bytes;) {
      const int chunk = static_cast<int>(std::min<int64_t>(bytes - done, INT_MAX / 2));
      MPI_CHECK(MPI_Bcast(base + done, chunk, MPI_BYTE, root, comm_));
      done += chunk;
    }
  });
  staged.write_back();
}

void MpiCommunicator::barrier() {
  run([&] { MPI_CHECK(MPI_Barrier(comm_)); });
}

std::unique_ptr<Communicator> MpiCommunicator::clone() const {
  MPI_Comm dup = MPI_COMM_NULL;
  run([&] { MPI_CHECK(MPI_Comm_dup(comm_, &dup)); });
  return std::unique_ptr<Communicator>(new MpiCommunicator(Adopt{}, dup, timeout_s_));
}

}  // namespace satclip::dist
