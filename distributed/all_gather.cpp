#include "distributed/all_gather.h"

#include "core/base/error.h"

namespace satclip::dist {
namespace {

class AllGatherFunction : public torch::autograd::Function<AllGatherFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               int64_t comm_address) {
    auto* comm = reinterpret_cast<Communicator*>(comm_address);
    const auto sizes = comm->all_gather_sizes(x.size(0));
    ctx->saved_data["comm"] = comm_address;
    ctx->saved_data["sizes"] = sizes;
    return comm->all_gather(x, sizes);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    torch::Tensor grad = comm->reduce_scatter(grads[0].contiguous(), sizes, ReduceOp::kSum);
    return {grad, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor all_gather_with_grad(const torch::Tensor& x, Communicator& comm) {
  SATCLIP_CHECK(x.dim() >= 1, "all_gather_with_grad needs a tensor with at least one dimension",
                "gather embeddings shaped [batch, dim]");
  return AllGatherFunction::apply(x, reinterpret_cast<int64_t>(&comm));
}

}  // namespace satclip::dist
