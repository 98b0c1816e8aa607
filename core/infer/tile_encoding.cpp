#include "core/infer/tile_encoding.h"

#include <algorithm>

#include <torch/nn/utils.h>

#include "core/base/hash.h"
#include "core/infer/autocast.h"

namespace satclip::core {

EncodedTiles encode_tiles(SatClip& model, const TileEncoding& req, int rank, int world,
                          const std::function<bool()>& stop) {
  std::vector<int64_t> mine, chunk_of_batch;
  const int64_t n = int64_t(req.indices.size());
  for (int64_t c = rank, start = rank * req.chunk; start < n; c += world, start = c * req.chunk) {
    for (int64_t i = start; i < std::min(n, start + req.chunk); ++i) mine.push_back(req.indices[size_t(i)]);
    chunk_of_batch.push_back(c);
  }
  // Round b encodes chunk rank + b * world; every rank goes through all rounds (asking `stop` in
  // each), also those where it has no chunk left.
  const int64_t rounds = ((n + req.chunk - 1) / req.chunk + world - 1) / world;
  std::vector<torch::Tensor> idx, eval, views;
  bool stopped = false;
  std::unique_ptr<data::Loader> loader;
  if (!mine.empty()) {
    data::LoaderOptions lo = req.loader;
    lo.batch_size = req.chunk;  // loader batches are exactly this rank's chunks
    loader = std::make_unique<data::Loader>(req.dataset, mine, lo);
  }
  data::Batch batch;
  torch::NoGradGuard no_grad;
  {
    const AutocastScope autocast(loader && req.bf16 && req.device.is_cuda());
    for (int64_t b = 0; b < rounds; ++b) {
      if (stop && stop()) {
        stopped = true;
        break;
      }
      if (!loader || !loader->next(batch)) continue;
      auto encode = [&](bool training, uint64_t seed) {
        const auto p = data::prepare_batch(batch, req.transforms, req.device, seed, training);
        return model->image_features(p.images).to(torch::kCPU, torch::kFloat);
      };
      idx.push_back(batch.index.clone());
      eval.push_back(encode(false, 0));
      std::vector<torch::Tensor> v;
      for (int64_t k = 0; k < req.views; ++k) {
        v.push_back(encode(true, mix_pair(req.seed, mix_pair(chunk_of_batch[size_t(b)], k))));
      }
      if (req.views > 0) views.push_back(torch::stack(v, 1));
    }
  }
  const int64_t dim = model->image_encoder->num_features();
  auto cat_or = [](std::vector<torch::Tensor>& v, std::vector<int64_t> shape, torch::ScalarType t) {
    return v.empty() ? torch::empty(shape, torch::TensorOptions().dtype(t)) : torch::cat(v);
  };
  return {cat_or(idx, {0}, torch::kLong), cat_or(eval, {0, dim}, torch::kFloat),
          req.views > 0 ? cat_or(views, {0, req.views, dim}, torch::kFloat) : torch::Tensor(), stopped};
}

}  // namespace satclip::core
