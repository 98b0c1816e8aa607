#include "distributed/nccl_communicator.h"

#include <exception>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/base/error.h"
#include "distributed/abort.h"
#include "distributed/mpi_check.h"

#define NCCL_CHECK(call)                                                                    \
  do {                                                                                      \
    const ncclResult_t satclip_nccl_rc_ = (call);                                           \
    if (satclip_nccl_rc_ != ncclSuccess)                                                    \
      ::satclip::throw_error(__FILE__, __LINE__,                                            \
                             std::string(#call " failed: ") + ncclGetErrorString(satclip_nccl_rc_), \
                             "set NCCL_DEBUG=INFO for details; every rank must call the same "      \
                             "collectives in the same order");                              \
  } while (0)

namespace satclip::dist {

// Watches outstanding collectives of one communicator (see the header).
class NcclWatchdog {
 public:
  NcclWatchdog(ncclComm_t comm, int rank, double timeout_s)
      : comm_(comm), rank_(rank), timeout_(timeout_s), thread_([this] { loop(); }) {}
  ~NcclWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void track(std::shared_ptr<at::cuda::CUDAEvent> done, const char* what) {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back({std::move(done), what, std::chrono::steady_clock::now()});
  }

 private:
  struct Entry {
    std::shared_ptr<at::cuda::CUDAEvent> done;
    const char* what;
    std::chrono::steady_clock::time_point start;
  };
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      ncclResult_t async_error = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async_error);
      if (async_error != ncclSuccess) {
        ncclCommAbort(comm_);
        abort_job(cat("rank ", rank_, ": NCCL reported an asynchronous error: ",
                      ncclGetErrorString(async_error), "\nHINT: set NCCL_DEBUG=INFO for details"));
      }
      const auto now = std::chrono::steady_clock::now();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->done->query()) {
          it = pending_.erase(it);
          continue;
        }
        const double age = std::chrono::duration<double>(now - it->start).count();
        if (age > timeout_) {
          ncclCommAbort(comm_);
          abort_job(cat("rank ", rank_, ": NCCL ", it->what, " did not finish within ", timeout_,
                        " s\nHINT: another rank probably failed or called collectives in a different "
                        "order; raise distributed.timeout_s if the step is legitimately this slow"));
        }
        ++it;
      }
    }
  }

  ncclComm_t comm_;
  int rank_;
  double timeout_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::list<Entry> pending_;
  bool stop_ = false;
  std::thread thread_;
};

namespace {

ncclDataType_t nccl_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return ncclFloat32;
    case torch::kDouble: return ncclFloat64;
    case torch::kHalf: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kLong: return ncclInt64;
    case torch::kInt: return ncclInt32;
    case torch::kByte: return ncclUint8;
    default:
      SATCLIP_FAIL(cat("NCCL cannot reduce dtype ", c10::toString(t)),
                   "use float32, float64, float16, bfloat16, int32, int64 or uint8");
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kAvg: return ncclAvg;
    case ReduceOp::kMax: return ncclMax;
  }
  return ncclSum;
}

class NcclWork final : public Work {
 public:
  NcclWork(std::shared_ptr<at::cuda::CUDAEvent> done, int device, std::function<void()> after)
      : done_(std::move(done)), device_(device), after_(std::move(after)) {}
  void wait() override {
    if (waited_) return;
    waited_ = true;
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    done_->block(c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)));
    if (after_) after_();
  }

 private:
  std::shared_ptr<at::cuda::CUDAEvent> done_;
  int device_;
  std::function<void()> after_;
  bool waited_ = false;
};

int64_t row_numel(const torch::Tensor& t) { return t.dim() == 0 ? 1 : t.numel() / std::max<int64_t>(t.size(0), 1); }

}  // namespace

NcclCommunicator::NcclCommunicator(MPI_Comm bootstrap, int device_index, double timeout_s)
    : device_(device_index), timeout_s_(timeout_s) {
  MPI_CHECK(MPI_Comm_dup(bootstrap, &mpi_));
  MPI_CHECK(MPI_Comm_set_errhandler(mpi_, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_rank(mpi_, &rank_));
  MPI_CHECK(MPI_Comm_size(mpi_, &size_));
  ncclUniqueId id;
  if (rank_ == 0) NCCL_CHECK(ncclGetUniqueId(&id));
  MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi_));
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
  NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_));
  stream_ = std::make_unique<c10::cuda::CUDAStream>(
      c10::cuda::getStreamFromPool(/*isHighPriority=*/true, static_cast<c10::DeviceIndex>(device_)));
  watchdog_ = std::make_unique<NcclWatchdog>(comm_, rank_, timeout_s_);
}

NcclCommunicator::~NcclCommunicator() {
  watchdog_.reset();
  if (std::uncaught_exceptions() > 0) {
    // A failing rank: its kernels may wait on peers that will never join; abort them instead of
    // synchronising the stream (and skip MPI_Comm_free, which is collective).
    if (comm_) ncclCommAbort(comm_);
    return;
  }
  if (comm_) {
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    stream_->synchronize();
    ncclCommDestroy(comm_);
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && mpi_ != MPI_COMM_NULL) MPI_Comm_free(&mpi_);
}

torch::Tensor NcclCommunicator::on_device(const char* op, const torch::Tensor& t) const {
  if (t.device().is_cpu()) return t.to(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device_)));
  SATCLIP_CHECK(t.is_cuda() && t.device().index() == device_,
                cat(op, ": the NCCL communicator of cuda:", device_, " got a tensor on ", t.device()),
                "move the tensor to this rank's device (or to the CPU)");
  return t;
}

WorkPtr NcclCommunicator::enqueue(const char* what, const std::vector<torch::Tensor>& tensors,
                                  const Launch& launch, std::function<void()> after) {
  const auto dev = static_cast<c10::DeviceIndex>(device_);
  c10::cuda::CUDAGuard guard(dev);
  at::cuda::CUDAEvent ready;
  ready.record(c10::cuda::getCurrentCUDAStream(dev));
  ready.block(*stream_);
  NCCL_CHECK(launch(stream_->stream()));
  for (const auto& t : tensors) c10::cuda::CUDACachingAllocator::recordStream(t.storage().data_ptr(), *stream_);
  auto done = std::make_shared<at::cuda::CUDAEvent>();
  done->record(*stream_);
  watchdog_->track(done, what);
  return std::make_shared<NcclWork>(done, device_, std::move(after));
}

WorkPtr NcclCommunicator::all_reduce_async(torch::Tensor t, ReduceOp op) {
  SATCLIP_CHECK(!(op == ReduceOp::kAvg && !t.is_floating_point()),
                cat("all_reduce avg on an integer tensor (", t.dtype(), ")"),
                "use sum and divide, or reduce a floating-point tensor");
  torch::Tensor buf = on_device("all_reduce", t).contiguous();
  const auto type = nccl_type(buf.scalar_type());
  std::function<void()> after;
  if (!buf.is_same(t)) after = [t, buf]() mutable { torch::NoGradGuard g; t.copy_(buf); };
  return enqueue("all_reduce", {buf}, [&](cudaStream_t s) {
    return ncclAllReduce(buf.data_ptr(), buf.data_ptr(), buf.numel(), type, nccl_op(op), comm_, s);
  }, std::move(after));
}

std::vector<int64_t> NcclCommunicator::all_gather_sizes(int64_t n) {
  std::vector<int64_t> sizes(size_);
  MPI_CHECK(MPI_Allgather(&n, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, mpi_));
  return sizes;
}

torch::Tensor NcclCommunicator::all_gather(const torch::Tensor& input, const std::vector<int64_t>& sizes) {
  const torch::Tensor t = on_device("all_gather", input);
  SATCLIP_CHECK(t.dim() >= 1 && static_cast<int>(sizes.size()) == size_ && sizes[rank_] == t.size(0),
                cat("all_gather: sizes do not match this rank's tensor"),
                "pass the result of all_gather_sizes(t.size(0))");
  const int64_t max_rows = *std::max_element(sizes.begin(), sizes.end());
  auto shape = t.sizes().vec();
  shape[0] = max_rows;
  torch::Tensor in = t.contiguous();
  if (t.size(0) != max_rows) {
    in = torch::zeros(shape, t.options());
    in.narrow(0, 0, t.size(0)).copy_(t);
  }
  shape[0] = max_rows * size_;
  torch::Tensor out = torch::empty(shape, t.options());
  const int64_t bytes = in.numel() * in.element_size();
  enqueue("all_gather", {in, out}, [&](cudaStream_t s) {
    return ncclAllGather(in.data_ptr(), out.data_ptr(), bytes, ncclUint8, comm_, s);
  })->wait();
  if (!std::all_of(sizes.begin(), sizes.end(), [&](int64_t n) { return n == max_rows; })) {
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < size_; ++r) parts.push_back(out.narrow(0, r * max_rows, sizes[r]));
    out = torch::cat(parts, 0);
  }
  return input.is_cuda() ? out : out.to(torch::kCPU);
}

torch::Tensor NcclCommunicator::reduce_scatter(const torch::Tensor& input,
                                               const std::vector<int64_t>& counts, ReduceOp op) {
  const torch::Tensor t = on_device("reduce_scatter", input);
  check_counts("reduce_scatter", t, counts, size_);
  const int64_t max_rows = *std::max_element(counts.begin(), counts.end());
  const int64_t per_row = row_numel(t);
  auto shape = t.sizes().vec();
  torch::Tensor in = t.contiguous();
  if (!std::all_of(counts.begin(), counts.end(), [&](int64_t n) { return n == max_rows; })) {
    shape[0] = max_rows * size_;
    in = torch::zeros(shape, t.options());
    int64_t src = 0;
    for (int r = 0; r < size_; ++r) {
      in.narrow(0, r * max_rows, counts[r]).copy_(t.narrow(0, src, counts[r]));
      src += counts[r];
    }
  }
  shape[0] = max_rows;
  torch::Tensor out = torch::empty(shape, t.options());
  const auto type = nccl_type(t.scalar_type());
  enqueue("reduce_scatter", {in, out}, [&](cudaStream_t s) {
    return ncclReduceScatter(in.data_ptr(), out.data_ptr(), max_rows * per_row, type, nccl_op(op),
                             comm_, s);
  })->wait();
  out = out.narrow(0, 0, counts[rank_]);
  return input.is_cuda() ? out : out.to(torch::kCPU);
}

void NcclCommunicator::broadcast(torch::Tensor t, int root) {
  SATCLIP_CHECK(root >= 0 && root < size_, cat("broadcast root ", root, " is not a rank"),
                cat("use a root in 0..", size_ - 1));
  torch::Tensor buf = on_device("broadcast", t).contiguous();
  const int64_t bytes = buf.numel() * buf.element_size();
  std::function<void()> after;
  if (!buf.is_same(t)) after = [t, buf]() mutable { torch::NoGradGuard g; t.copy_(buf); };
  enqueue("broadcast", {buf}, [&](cudaStream_t s) {
    return ncclBroadcast(buf.data_ptr(), buf.data_ptr(), bytes, ncclUint8, root, comm_, s);
  }, std::move(after))->wait();
}

void NcclCommunicator::barrier() {
  auto one = torch::ones({1}, torch::TensorOptions().device(torch::kCUDA, device_));
  all_reduce(one, ReduceOp::kSum);
  c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)).synchronize();
}

std::unique_ptr<Communicator> NcclCommunicator::clone() const {
  return std::make_unique<NcclCommunicator>(mpi_, device_, timeout_s_);
}

}  // namespace satclip::dist
