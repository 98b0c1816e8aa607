#include "core/train/batch_source.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <algorithm>
#include <optional>

#include <spdlog/fmt/fmt.h>

namespace satclip::core {
namespace {

// On CUDA the raw (uint16) batch after the one handed out is sent to the device early: at the end
// of next() when the loader has it ready, else by prefetch() once the step's work is enqueued.
// Its copy runs on a copy stream while the compute stream trains on the current batch, and the
// compute stream waits for it (an event, no host synchronisation) before transforming it.
class ImageBatches final : public BatchSource {
 public:
  ImageBatches(std::shared_ptr<const data::ShardedDataset> dataset, std::vector<int64_t> indices,
               const data::LoaderOptions& options, const data::TransformOptions& transforms,
               const torch::Device& device)
      : loader_(std::move(dataset), std::move(indices), options), transforms_(transforms), device_(device),
        ahead_(device.is_cuda()) {}

  bool next(StepBatch& out, uint64_t seed) override {
    data::Batch batch;
    stats_.waiting += loader_.ready_ahead();
    ++stats_.asked;
    if (ahead_) {
      if (!staged_) stage();
      if (!staged_->ok) return false;
      const c10::impl::VirtualGuardImpl impl(device_.type());
      const c10::Stream compute = impl.getStream(device_);
      staged_->copied.block(compute);
      batch = std::move(staged_->batch);
      for (auto* t : {&batch.images, &batch.lat, &batch.lon}) t->record_stream(compute);
      read_copy_time();
      timed_ = std::move(staged_);  // its copy time is read once the copy has finished
    } else if (!loader_.next(batch)) {
      return false;
    }
    const auto p = data::prepare_batch(batch, transforms_, device_, seed, /*training=*/true, out.images);
    out.images = p.images;
    out.features = torch::Tensor();
    out.lat_lon = torch::stack({p.lat, p.lon}, 1).to(torch::kFloat);
    out.index = batch.index;
    // The next batch's copy overlaps this step, if the loader has it ready; waiting for it here
    // would keep this step from being launched, so a late batch is fetched by prefetch().
    if (ahead_ && loader_.ready()) stage();
    return true;
  }

  void prefetch() override {
    if (ahead_ && !staged_) stage();
  }

  bool append(const std::vector<int64_t>& indices) override {
    loader_.append(indices);
    if (staged_ && !staged_->ok) staged_.reset();  // the end of the lists so far was staged
    return true;
  }

  Stats take_stats() override {
    Stats t = stats_;
    t.loader = loader_.take_stats();
    stats_ = {};
    return t;
  }

 private:
  struct Staged {
    bool ok = false;
    data::Batch batch;  // on the device
    c10::Event started, copied;  // around the copy, on the copy stream; with timing
    explicit Staged(c10::DeviceType type)
        : started(type, c10::EventFlag::BACKEND_DEFAULT), copied(type, c10::EventFlag::BACKEND_DEFAULT) {}
  };

  // Adds the copy time of the batch handed out last, if its copy has finished by now (a batch
  // still copying is not counted); never waits.
  void read_copy_time() {
    if (!timed_) return;
    try {
      if (timed_->copied.query()) {
        stats_.copy_ms += timed_->started.elapsedTime(timed_->copied);
        ++stats_.copies;
      }
    } catch (const std::exception&) {  // timing is a diagnostic: never fail a step over it
    }
    timed_.reset();
  }

  // Takes the loader's next batch and starts its copy on the copy stream.
  void stage() {
    staged_ = std::make_unique<Staged>(device_.type());
    data::Batch b;
    if (!loader_.next(b)) return;
    const c10::impl::VirtualGuardImpl impl(device_.type());
    if (!copy_stream_) copy_stream_ = impl.getStreamFromGlobalPool(device_);
    staged_->started.record(*copy_stream_);
    staged_->batch = data::copy_to_device(b, device_, *copy_stream_);
    staged_->copied.record(*copy_stream_);
    staged_->ok = true;
  }

  data::Loader loader_;
  data::TransformOptions transforms_;
  torch::Device device_;
  bool ahead_;
  std::unique_ptr<Staged> staged_;
  std::unique_ptr<Staged> timed_;  // the batch handed out last, for its copy time
  Stats stats_;
  std::optional<c10::Stream> copy_stream_;
};

class FeatureBatches final : public BatchSource {
 public:
  FeatureBatches(std::shared_ptr<const FeatureCache> cache, std::shared_ptr<const data::ShardedDataset> dataset,
                 std::vector<int64_t> indices, int64_t batch_size, const data::TransformOptions& transforms,
                 const torch::Device& device, uint64_t view_seed)
      : cache_(std::move(cache)), dataset_(std::move(dataset)), indices_(std::move(indices)),
        batch_size_(batch_size), jitter_(transforms.coord_jitter_deg), device_(device), view_seed_(view_seed) {}

  bool next(StepBatch& out, uint64_t seed) override {
    if (pos_ >= indices_.size()) return false;
    const size_t end = std::min(indices_.size(), pos_ + size_t(batch_size_));
    const std::vector<int64_t> idx(indices_.begin() + pos_, indices_.begin() + end);
    pos_ = end;
    const int64_t n = int64_t(idx.size());
    auto lat = torch::empty({n}, torch::kDouble), lon = torch::empty({n}, torch::kDouble);
    double* la = lat.data_ptr<double>();
    double* lo = lon.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) {
      la[i] = dataset_->lat(idx[size_t(i)]);
      lo[i] = dataset_->lon(idx[size_t(i)]);
    }
    if (jitter_ > 0) {  // the draws prepare_batch makes when no image augmentation precedes them
      auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
      auto opts = torch::TensorOptions().dtype(torch::kDouble);
      lat = lat + torch::rand({n}, gen, opts) * jitter_;
      lon = lon + torch::rand({n}, gen, opts) * jitter_;
    }
    out.images = torch::Tensor();
    out.features = cache_->gather(idx, /*training=*/true, view_seed_).to(device_);
    out.lat_lon = torch::stack({lat, lon}, 1).to(device_).to(torch::kFloat);
    out.index = torch::tensor(idx, torch::kLong);
    return true;
  }

 private:
  std::shared_ptr<const FeatureCache> cache_;
  std::shared_ptr<const data::ShardedDataset> dataset_;
  std::vector<int64_t> indices_;
  int64_t batch_size_;
  double jitter_;
  torch::Device device_;
  uint64_t view_seed_;
  size_t pos_ = 0;
};

}  // namespace

std::string source_summary(const BatchSource::Stats& st, const torch::Device& device) {
  std::string out;
  if (st.asked > 0) out += fmt::format("; loader {:.1f} batches ready", double(st.waiting) / double(st.asked));
  if (st.copies > 0) {
    out += fmt::format("; copy to {} {:.2f} ms/batch (own stream)", device.str(), st.copy_ms / double(st.copies));
  }
  const auto threads = st.loader.summary();
  if (!threads.empty()) out += "; loader threads " + threads;
  return out;
}

std::unique_ptr<BatchSource> image_batches(std::shared_ptr<const data::ShardedDataset> dataset,
                                           std::vector<int64_t> indices, const data::LoaderOptions& options,
                                           const data::TransformOptions& transforms, const torch::Device& device) {
  return std::make_unique<ImageBatches>(std::move(dataset), std::move(indices), options, transforms, device);
}

std::unique_ptr<BatchSource> feature_batches(std::shared_ptr<const FeatureCache> cache,
                                             std::shared_ptr<const data::ShardedDataset> dataset,
                                             std::vector<int64_t> indices, int64_t batch_size,
                                             const data::TransformOptions& transforms, const torch::Device& device,
                                             uint64_t view_seed) {
  return std::make_unique<FeatureBatches>(std::move(cache), std::move(dataset), std::move(indices), batch_size,
                                          transforms, device, view_seed);
}

}  // namespace satclip::core
