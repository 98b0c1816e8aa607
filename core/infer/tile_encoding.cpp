#include "core/infer/tile_encoding.h"

#include <algorithm>

#include <torch/nn/utils.h>

#include "core/base/error.h"
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
  bool stopped = false;
  std::unique_ptr<data::Loader> loader;
  if (!mine.empty()) {
    data::LoaderOptions lo = req.loader;
    lo.batch_size = req.chunk;  // loader batches are exactly this rank's chunks
    loader = std::make_unique<data::Loader>(req.dataset, mine, lo);
  }
  // The results go into tensors allocated once, up front: kept per chunk, they were small
  // long-lived blocks between each chunk's large temporaries, which kept glibc from reusing or
  // returning the freed space (a CPU build of 100k tiles grew to 10 GB; this way it stays flat).
  const int64_t m = int64_t(mine.size()), dim = model->image_encoder->num_features();
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  auto index = torch::empty({m}, torch::TensorOptions().dtype(torch::kLong));
  auto eval = torch::empty({m, dim}, f32);
  auto views = req.views > 0 ? torch::empty({m, req.views, dim}, f32) : torch::Tensor();
  int64_t filled = 0;
  data::Batch batch;
  torch::NoGradGuard no_grad;
  {
    const AutocastScope autocast(loader && req.bf16 && req.device.is_cuda());
    for (int64_t b = 0; b < rounds; ++b) {
      if (stop && stop()) {
        stopped = true;
        break;
      }
      if (req.on_round) req.on_round(std::min(n, b * world * req.chunk), n);
      if (!loader || !loader->next(batch)) continue;
      const int64_t k = batch.index.size(0);
      SATCLIP_CHECK(filled + k <= m, cat("the encoding's loader returned ", filled + k, " tiles, more than the ", m,
                                         " it was given"),
                    "this is a bug in satclip-ddp: please report it with the command line");
      auto encode_into = [&](torch::Tensor out, bool training, uint64_t seed) {
        const auto p = data::prepare_batch(batch, req.transforms, req.device, seed, training);
        out.copy_(model->image_features(p.images));  // to the CPU, as float32
      };
      index.narrow(0, filled, k).copy_(batch.index);
      encode_into(eval.narrow(0, filled, k), false, 0);
      for (int64_t v = 0; v < req.views; ++v) {
        encode_into(views.narrow(0, filled, k).select(1, v), true,
                    mix_pair(req.seed, mix_pair(chunk_of_batch[size_t(b)], v)));
      }
      filled += k;
    }
  }
  return {index.narrow(0, 0, filled), eval.narrow(0, 0, filled),
          req.views > 0 ? views.narrow(0, 0, filled) : torch::Tensor(), stopped};
}

}  // namespace satclip::core
