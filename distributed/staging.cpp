#include "distributed/staging.h"


namespace satclip::dist {

StagedTensor::StagedTensor(torch::Tensor original, bool for_reduce) : original_(std::move(original)) {
  torch::Tensor h = original_;
  if (!h.device().is_cpu()) h = h.to(torch::kCPU);  // blocking copy: ordered after pending work
  const auto dtype = h.scalar_type();
  if (for_reduce && (dtype == torch::kBFloat16 || dtype == torch::kHalf)) h = h.to(torch::kFloat);
  host_ = h.contiguous();
  staged_ = !host_.is_same(original_);
}

void StagedTensor::write_back() {
  if (!staged_) return;
  torch::NoGradGuard no_grad;
  original_.copy_(host_);
}

}  // namespace satclip::dist
