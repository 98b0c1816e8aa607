// StagedTensor: the host-side, contiguous buffer an MPI collective works on.
//
// For a contiguous CPU tensor of a dtype MPI reduces natively this is the tensor itself (no copy).
// Otherwise (CUDA, non-contiguous, or bfloat16/float16 when reducing) it is a host copy, and
// write_back() copies the result into the original tensor.
#pragma once

#include <torch/torch.h>

namespace satclip::dist {

class StagedTensor {
 public:
  StagedTensor(torch::Tensor original, bool for_reduce);
  const torch::Tensor& host() const { return host_; }
  bool staged() const { return staged_; }
  // Copies host() into the original tensor when they differ; no-op otherwise.
  void write_back();

 private:
  torch::Tensor original_;
  torch::Tensor host_;
  bool staged_ = false;
};

}  // namespace satclip::dist
