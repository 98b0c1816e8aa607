#include "distributed/communicator.h"

#include <algorithm>
#include <numeric>

#include "core/base/error.h"
#include "distributed/local_communicator.h"
#include "distributed/mpi_communicator.h"
#include "distributed/runtime.h"
#ifdef SATCLIP_HAVE_NCCL
#include "distributed/nccl_communicator.h"
#endif

namespace satclip::dist {

const char* to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kAvg: return "avg";
    case ReduceOp::kMax: return "max";
  }
  return "?";
}

std::vector<std::string> all_gather_text(Communicator& comm, const std::string& text) {
  const auto sizes = comm.all_gather_sizes(static_cast<int64_t>(text.size()));
  std::vector<std::string> out;
  if (std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) == 0) return std::vector<std::string>(sizes.size());
  auto bytes = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
  std::copy(text.begin(), text.end(), reinterpret_cast<char*>(bytes.data_ptr<uint8_t>()));
  const auto all = comm.all_gather(bytes, sizes).contiguous();
  int64_t offset = 0;
  for (const int64_t n : sizes) {
    out.emplace_back(reinterpret_cast<const char*>(all.data_ptr<uint8_t>()) + offset, static_cast<size_t>(n));
    offset += n;
  }
  return out;
}

bool nccl_compiled_in() {
#ifdef SATCLIP_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

void check_counts(const char* op, const torch::Tensor& t, const std::vector<int64_t>& counts,
                  int world_size) {
  SATCLIP_CHECK(static_cast<int>(counts.size()) == world_size,
                cat(op, ": got ", counts.size(), " counts for a world of ", world_size, " ranks"),
                "pass one count per rank");
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  SATCLIP_CHECK(t.dim() >= 1 && t.size(0) == total,
                cat(op, ": counts sum to ", total, " but the tensor has ",
                    t.dim() ? t.size(0) : 0, " rows"),
                "the counts must split dim 0 of the input exactly");
}

std::unique_ptr<Communicator> make_communicator(const CommunicatorOptions& options,
                                                const Runtime& runtime) {
  Backend backend = options.backend;
  if (backend == Backend::kAuto) {
    if (runtime.world_size == 1) {
      backend = Backend::kLocal;
    } else if (runtime.device.is_cuda() && nccl_compiled_in() && !runtime.ranks_share_gpu) {
      backend = Backend::kNccl;
    } else {
      backend = Backend::kMpi;
    }
  }
  if (backend == Backend::kLocal) {
    SATCLIP_CHECK(runtime.world_size == 1,
                  cat("distributed.backend=local needs a world of 1 process, this run has ",
                      runtime.world_size),
                  "use distributed.backend=auto or mpi for multi-process runs");
    return std::make_unique<LocalCommunicator>();
  }
  if (backend == Backend::kMpi) return std::make_unique<MpiCommunicator>(runtime.world_comm(), options.timeout_s);
#ifdef SATCLIP_HAVE_NCCL
  SATCLIP_CHECK(runtime.device.is_cuda(),
                "distributed.backend=nccl needs a CUDA device, this rank runs on the CPU",
                "use distributed.backend=mpi for CPU runs");
  return std::make_unique<NcclCommunicator>(runtime.world_comm(), runtime.device.index(),
                                            options.timeout_s);
#else
  SATCLIP_FAIL("distributed.backend=nccl, but this build has no NCCL support",
               "rebuild with CUDA and NCCL (cmake -DSATCLIP_WITH_NCCL=ON), or use backend mpi");
#endif
}

}  // namespace satclip::dist
