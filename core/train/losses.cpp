#include "core/train/losses.h"

#include "core/base/error.h"
#include "distributed/all_gather.h"

namespace satclip::core {

torch::Tensor soft_clip_loss(const torch::Tensor& image, const torch::Tensor& location, double temperature) {
  const auto logits = location.matmul(image.t()) / temperature;
  const auto similarity = (image.matmul(image.t()) + location.matmul(location.t())) / 2;
  const auto targets = torch::softmax(similarity * temperature, /*dim=*/-1);
  const auto loc_loss = (-targets * torch::log_softmax(logits, -1)).sum(1);
  const auto img_loss = (-targets.t() * torch::log_softmax(logits.t(), -1)).sum(1);
  return ((img_loss + loc_loss) / 2.0).mean();
}

namespace {

// Cross-entropy of each row of `logits` against its matching column, offset + row: the mean of
// -log_softmax there. The same as cross_entropy with those labels, without nll_loss, whose CUDA
// kernel is not deterministic (train.deterministic would refuse it).
torch::Tensor matching_cross_entropy(const torch::Tensor& logits, int64_t offset) {
  return -torch::log_softmax(logits, /*dim=*/1).diagonal(offset).mean();
}

}  // namespace

torch::Tensor info_nce_loss(const torch::Tensor& image, const torch::Tensor& location,
                            const torch::Tensor& logit_scale) {
  const auto i = torch::nn::functional::normalize(image, torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto l = torch::nn::functional::normalize(location, torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto logits = logit_scale.exp() * i.matmul(l.t());
  return (matching_cross_entropy(logits, 0) + matching_cross_entropy(logits.t(), 0)) / 2;
}

LossResult contrastive_loss(const LossConfig& c, const torch::Tensor& image_local,
                            const torch::Tensor& location_local, const torch::Tensor& logit_scale,
                            dist::Communicator& comm) {
  const auto image = dist::all_gather_with_grad(image_local, comm);
  const auto location = dist::all_gather_with_grad(location_local, comm);
  if (c.kind == LossKind::kSoftClip) return {soft_clip_loss(image, location, c.temperature)};
  SATCLIP_CHECK(logit_scale.defined(), "info_nce needs the model's logit_scale", "build the model with loss.kind=info_nce");
  if (!c.local) return {info_nce_loss(image, location, logit_scale)};
  // Local rows against all gathered columns; the matching column is offset by the rows of lower ranks.
  const auto sizes = comm.all_gather_sizes(image_local.size(0));
  int64_t offset = 0, total = 0;
  for (int r = 0; r < comm.size(); ++r) {
    if (r < comm.rank()) offset += sizes[r];
    total += sizes[r];
  }
  namespace F = torch::nn::functional;
  const auto i_all = F::normalize(image, F::NormalizeFuncOptions().dim(1));
  const auto l_all = F::normalize(location, F::NormalizeFuncOptions().dim(1));
  const auto i_mine = i_all.narrow(0, offset, image_local.size(0));
  const auto l_mine = l_all.narrow(0, offset, image_local.size(0));
  const auto scale = logit_scale.exp();
  const auto loss = (matching_cross_entropy(scale * i_mine.matmul(l_all.t()), offset) +
                     matching_cross_entropy(scale * l_mine.matmul(i_all.t()), offset)) / 2;
  // Mean over this rank's rows; weight it so the mean over ranks is the mean over all rows.
  return {loss * (double(image_local.size(0)) * comm.size() / double(total))};
}

}  // namespace satclip::core
