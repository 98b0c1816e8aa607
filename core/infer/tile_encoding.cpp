#include "core/infer/tile_encoding.h"

#include <algorithm>
#include <optional>

#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/nn/utils.h>

#include "core/base/error.h"
#include "core/base/hash.h"
#include "core/infer/autocast.h"

namespace satclip::core {
namespace {

// The loader's batches on a CUDA device: each is copied there ahead, on a copy stream, so that a
// chunk's copy overlaps the encoding of the one before it. next() hands out the batch copied
// ahead (the current stream waits for its copy: an event, no host wait); prefetch(), called once
// the chunk's work is enqueued, takes the loader's next batch and starts its copy, waiting on the
// host for the loader while the device works. Off CUDA: the loader's batches as they are.
class StagedBatches {
 public:
  StagedBatches(data::Loader& loader, const torch::Device& device)
      : loader_(loader), device_(device), copied_(device.type()) {}

  bool next(data::Batch& out) {
    if (!device_.is_cuda()) return loader_.next(out);
    prefetch();
    staged_ = false;
    if (!ahead_ok_) return false;
    const c10::impl::VirtualGuardImpl impl(device_.type());
    const c10::Stream compute = impl.getStream(device_);
    copied_.block(compute);
    out = std::move(ahead_);
    ahead_ = data::Batch();
    for (auto* t : {&out.images, &out.lat, &out.lon}) t->record_stream(compute);
    return true;
  }

  void prefetch() {
    if (!device_.is_cuda() || staged_) return;
    staged_ = true;
    data::Batch raw;
    ahead_ok_ = loader_.next(raw);
    if (!ahead_ok_) return;
    const c10::impl::VirtualGuardImpl impl(device_.type());
    if (!copy_stream_) copy_stream_ = impl.getStreamFromGlobalPool(device_);
    ahead_ = data::copy_to_device(raw, device_, *copy_stream_);
    copied_.record(*copy_stream_);
  }

 private:
  data::Loader& loader_;
  torch::Device device_;
  c10::Event copied_;
  std::optional<c10::Stream> copy_stream_;
  data::Batch ahead_;
  bool staged_ = false, ahead_ok_ = false;
};

}  // namespace

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
  std::unique_ptr<StagedBatches> batches;
  if (!mine.empty()) {
    data::LoaderOptions lo = req.loader;
    lo.batch_size = req.chunk;  // loader batches are exactly this rank's chunks
    loader = std::make_unique<data::Loader>(req.dataset, mine, lo);
    batches = std::make_unique<StagedBatches>(*loader, req.device);
  }
  // The results go into tensors allocated once, up front: kept per chunk, they were small
  // long-lived blocks between each chunk's large temporaries, which kept glibc from reusing or
  // returning the freed space (a CPU build of 100k tiles grew to 10 GB; this way it stays flat).
  // On a GPU they stay there until the end (100k tiles x 512 features: 205 MB per view), so that
  // no chunk waits for its features to reach the host: the host goes on to queue the next one;
  // beyond kDeviceResultBytes (a pass over millions of tiles) they go to the host chunk by chunk.
  const int64_t m = int64_t(mine.size()), dim = model->image_encoder->num_features();
  constexpr double kDeviceResultBytes = 4.0 * (1 << 30);
  const double result_bytes = double(m) * double(dim) * double(1 + req.views) * 4;
  const bool on_device = req.device.is_cuda() && result_bytes <= kDeviceResultBytes;
  const auto f32 =
      torch::TensorOptions().dtype(torch::kFloat).device(on_device ? req.device : torch::Device(torch::kCPU));
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
      if (!batches || !batches->next(batch)) continue;
      const int64_t k = batch.index.size(0);
      SATCLIP_CHECK(filled + k <= m, cat("the encoding's loader returned ", filled + k, " tiles, more than the ", m,
                                         " it was given"),
                    "this is a bug in satclip-ddp: please report it with the command line");
      auto encode_into = [&](torch::Tensor out, bool training, uint64_t seed) {
        const auto p = data::prepare_batch(batch, req.transforms, req.device, seed, training);
        out.copy_(model->image_features(p.images));  // as float32
      };
      index.narrow(0, filled, k).copy_(batch.index);
      encode_into(eval.narrow(0, filled, k), false, 0);
      for (int64_t v = 0; v < req.views; ++v) {
        encode_into(views.narrow(0, filled, k).select(1, v), true,
                    mix_pair(req.seed, mix_pair(chunk_of_batch[size_t(b)], v)));
      }
      filled += k;
      batches->prefetch();  // the next chunk's copy overlaps this one's encoding
    }
  }
  const auto host = [&](const torch::Tensor& t) { return t.narrow(0, 0, filled).to(torch::kCPU); };
  return {index.narrow(0, 0, filled), host(eval), req.views > 0 ? host(views) : torch::Tensor(), stopped};
}

}  // namespace satclip::core
