// LocalCommunicator: the world-size-1 backend. Every collective is the identity (gathers and
// scatters return copies), so single-process code runs the same path as multi-rank code.
#pragma once

#include "distributed/communicator.h"

namespace satclip::dist {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }

  WorkPtr all_reduce_async(torch::Tensor t, ReduceOp op) override;
  using Communicator::all_gather;
  torch::Tensor all_gather(const torch::Tensor& t, const std::vector<int64_t>& sizes) override;
  std::vector<int64_t> all_gather_sizes(int64_t n) override { return {n}; }
  torch::Tensor reduce_scatter(const torch::Tensor& t, const std::vector<int64_t>& counts,
                               ReduceOp op) override;
  void broadcast(torch::Tensor t, int root) override;
  void barrier() override {}
  std::unique_ptr<Communicator> clone() const override;
};

}  // namespace satclip::dist
