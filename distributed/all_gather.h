// all_gather_with_grad: a differentiable all-gather along dim 0.
//
// Forward concatenates every rank's rows (sizes may differ). Backward reduce-scatters the incoming
// gradient with a sum, so rank r receives sum over ranks of dL/d(rows of r). When every rank
// computes the same global loss, that is world_size x the true gradient of r's rows; averaging
// the parameter gradients across ranks afterwards (GradReducer) then yields exactly the gradient
// of the single-process loss on the concatenated batch.
#pragma once

#include <torch/torch.h>

#include "distributed/communicator.h"

namespace satclip::dist {

torch::Tensor all_gather_with_grad(const torch::Tensor& x, Communicator& comm);

}  // namespace satclip::dist
