#include "distributed/local_communicator.h"

#include "core/base/error.h"

namespace satclip::dist {
namespace {

class DoneWork final : public Work {
 public:
  void wait() override {}
};

}  // namespace

WorkPtr LocalCommunicator::all_reduce_async(torch::Tensor t, ReduceOp op) {
  SATCLIP_CHECK(!(op == ReduceOp::kAvg && !t.is_floating_point()),
                cat("all_reduce avg on an integer tensor (", t.dtype(), ")"),
                "use sum and divide, or reduce a floating-point tensor");
  return std::make_shared<DoneWork>();
}

torch::Tensor LocalCommunicator::all_gather(const torch::Tensor& t,
                                            const std::vector<int64_t>& sizes) {
  check_counts("all_gather", t, sizes, 1);
  return t.clone();
}

torch::Tensor LocalCommunicator::reduce_scatter(const torch::Tensor& t,
                                                const std::vector<int64_t>& counts, ReduceOp) {
  check_counts("reduce_scatter", t, counts, 1);
  return t.clone();
}

void LocalCommunicator::broadcast(torch::Tensor, int root) {
  SATCLIP_CHECK(root == 0, cat("broadcast from rank ", root, " in a world of 1"), "use root 0");
}

std::unique_ptr<Communicator> LocalCommunicator::clone() const {
  return std::make_unique<LocalCommunicator>();
}

}  // namespace satclip::dist
