#include "datasets/loader.h"

#include <chrono>
#include <cstdio>
#include <cstring>

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include "core/base/error.h"

namespace satclip::data {

void CopyFence::record(const c10::Device& device) {
  if (!device.is_cuda()) return;
  const c10::impl::VirtualGuardImpl guard(device.type());
  const c10::Stream stream = guard.getStream(device);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!event_) event_ = std::make_unique<c10::Event>(device.type());
  event_->record(stream);
}

void CopyFence::wait() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (event_) event_->synchronize();
}

Batch copy_to_device(const Batch& raw, const c10::Device& device, const c10::Stream& stream) {
  const c10::StreamGuard on(stream);
  const bool async = raw.images.is_pinned();
  Batch out;
  out.images = raw.images.to(device, async);
  out.lat = raw.lat.to(device, async);
  out.lon = raw.lon.to(device, async);
  out.index = raw.index;
  if (async && raw.images_fence) raw.images_fence->record(device);
  return out;
}

Loader::Loader(std::shared_ptr<const ShardedDataset> dataset, std::vector<int64_t> indices, LoaderOptions o)
    : dataset_(std::move(dataset)), options_(o) {
  SATCLIP_CHECK(o.batch_size >= 1 && o.workers >= 1 && o.prefetch >= 1,
                cat("loader: batch_size ", o.batch_size, ", workers ", o.workers, ", prefetch ", o.prefetch,
                    " must all be at least 1"), "fix data.batch_size / data.workers / data.prefetch");
  if (options_.pin_memory && !torch::cuda::is_available()) options_.pin_memory = false;
  append(indices);
  ring_.resize(o.prefetch);
  for (int w = 0; w < o.workers; ++w) threads_.emplace_back([this, w] { work(w); });
}

void Loader::check_indices(const std::vector<int64_t>& indices) const {
  for (int64_t i : indices) {
    SATCLIP_CHECK(i >= 0 && i < dataset_->size(), cat("loader: index ", i, " outside the dataset"), "");
  }
}

void Loader::append(const std::vector<int64_t>& indices) {
  check_indices(indices);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t base = int64_t(indices_.size());
    for (int64_t begin = 0; begin < int64_t(indices.size()); begin += options_.batch_size) {
      starts_.push_back(base + begin);
    }
    indices_.insert(indices_.end(), indices.begin(), indices.end());
  }
  cv_.notify_all();
}

std::string Loader::Stats::summary() const {
  if (built == 0 || build_s <= 0) return "";
  char text[200];
  int n = std::snprintf(text, sizeof text, "%.1f ms per batch built (%.0f tiles/s each), %.0f%% of their time waiting "
                        "for a free slot", 1e3 * build_s / double(built), double(tiles) / build_s,
                        100 * slot_wait_s / (slot_wait_s + build_s));
  if (new_buffers > 0 && n > 0 && size_t(n) < sizeof text) {
    std::snprintf(text + n, sizeof text - size_t(n), ", %lld new buffer%s (%.3f s)", (long long)new_buffers,
                  new_buffers == 1 ? "" : "s", new_buffer_s);
  }
  return text;
}

Loader::Stats Loader::take_stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  const Stats out = stats_;
  stats_ = {};
  return out;
}

int64_t Loader::batches() {
  std::lock_guard<std::mutex> lock(mutex_);
  return int64_t(starts_.size());
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Loader::PooledBuffer Loader::acquire_images(int64_t n, Stats& cost) {
  PooledBuffer got;
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    for (const auto& b : pool_) {
      // Free when only the pool refers to the tensor and its storage (no batch, no view alive);
      // taking a copy here marks it as used for the other workers.
      if (b.images.size(0) == n && b.images.use_count() == 1 && b.images.storage().use_count() == 1) {
        got = b;
        break;
      }
    }
  }
  if (got.images.defined()) {
    got.fence->wait();  // the last asynchronous copy out of this buffer has finished
    return got;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto& m = dataset_->manifest();
  got.images = torch::empty({n, m.channels, m.height, m.width},
                            torch::TensorOptions().dtype(torch::kUInt16).pinned_memory(options_.pin_memory));
  // Written once here, so that the pages are faulted in now and new_buffer_s holds the whole cost
  // of a new buffer (pageable memory is mapped lazily; page-locked memory is resident already).
  std::memset(got.images.data_ptr(), 0, size_t(got.images.nbytes()));
  got.fence = std::make_shared<CopyFence>();
  cost.new_buffers += 1;
  cost.new_buffer_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard<std::mutex> lock(pool_mutex_);
  if (pool_.size() < size_t(options_.prefetch + options_.workers + 2)) pool_.push_back(got);
  return got;
}

Batch Loader::build(const std::vector<int64_t>& ids, std::vector<uint8_t>& scratch, Stats& cost) {
  const int64_t n = int64_t(ids.size());
  Batch b;
  auto opts = torch::TensorOptions().pinned_memory(options_.pin_memory);
  auto buffer = acquire_images(n, cost);
  b.images = std::move(buffer.images);
  b.images_fence = std::move(buffer.fence);
  b.lat = torch::empty({n}, opts.dtype(torch::kDouble));
  b.lon = torch::empty({n}, opts.dtype(torch::kDouble));
  b.index = torch::empty({n}, opts.dtype(torch::kLong));
  auto* pixels = b.images.data_ptr<uint16_t>();
  const int64_t tile = dataset_->tile_pixels();
  for (int64_t j = 0; j < n; ++j) {
    const int64_t i = ids[size_t(j)];
    dataset_->read_tile(i, pixels + j * tile, scratch);
    b.lat.data_ptr<double>()[j] = dataset_->lat(i);
    b.lon.data_ptr<double>()[j] = dataset_->lon(i);
    b.index.data_ptr<int64_t>()[j] = i;
  }
  return b;
}

void Loader::work(int worker) {
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  std::vector<uint8_t> scratch;
  std::vector<int64_t> ids;
  for (int64_t k = worker;; k += options_.workers) {
    Slot& slot = ring_[k % options_.prefetch];
    Clock::duration waited{};
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Batch k exists once a list reaching it was given, and its slot is free once the consumer
      // took batch k - prefetch. Idle workers wait here for append() or the destructor. Only a
      // wait for the slot counts: a worker without a batch to build is not slowed by anyone.
      const bool listed = k < int64_t(starts_.size());
      const auto t0 = Clock::now();
      cv_.wait(lock, [&] {
        return stop_ || (k < int64_t(starts_.size()) && slot.batch < 0 && consumed_ > k - options_.prefetch);
      });
      if (stop_) return;
      if (listed) waited = Clock::now() - t0;
      const int64_t end = k + 1 < int64_t(starts_.size()) ? starts_[k + 1] : int64_t(indices_.size());
      ids.assign(indices_.begin() + starts_[k], indices_.begin() + end);
    }
    Batch b;
    std::exception_ptr error;
    Stats cost;
    const auto t0 = Clock::now();
    try {
      b = build(ids, scratch, cost);
    } catch (...) {
      error = std::current_exception();
    }
    const auto built = Clock::now() - t0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.built += 1;
      stats_.tiles += int64_t(ids.size());
      stats_.build_s += seconds(built);
      stats_.slot_wait_s += seconds(waited);
      stats_.new_buffers += cost.new_buffers;
      stats_.new_buffer_s += cost.new_buffer_s;
      slot.value = std::move(b);
      slot.error = error;
      slot.batch = k;
    }
    cv_.notify_all();
    if (error) return;
  }
}

bool Loader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (consumed_ >= int64_t(starts_.size())) return false;
  Slot& slot = ring_[consumed_ % options_.prefetch];
  cv_.wait(lock, [&] { return slot.batch == consumed_; });
  if (slot.error) std::rethrow_exception(slot.error);
  out = std::move(slot.value);
  slot.value = Batch();
  slot.batch = -1;
  ++consumed_;
  lock.unlock();
  cv_.notify_all();
  return true;
}

bool Loader::ready() {
  std::lock_guard<std::mutex> lock(mutex_);
  return consumed_ >= int64_t(starts_.size()) || ring_[consumed_ % options_.prefetch].batch == consumed_;
}

int64_t Loader::ready_ahead() {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t k = consumed_;
  while (k < int64_t(starts_.size()) && k - consumed_ < options_.prefetch && ring_[k % options_.prefetch].batch == k) ++k;
  return k - consumed_;
}

}  // namespace satclip::data
