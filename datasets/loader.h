// Loader: batches of tiles read by worker threads into a bounded prefetch ring.
//
// Batch k of the given index list is built by worker k % workers straight into its own tensor
// (pinned host memory when the batches go to CUDA) and handed out in order. At most `prefetch`
// batches exist ahead of the consumer, so memory is bounded. append() queues a further list (the
// next epoch) behind the current one, so the workers build its first batches while the consumer
// still takes the current list's last ones: no pause between epochs. A batch never spans two
// lists. Image buffers are pooled and reused
// once no batch refers to them and the asynchronous copies out of them have finished (CopyFence).
#pragma once

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <c10/core/Event.h>
#include <c10/core/Stream.h>
#include <torch/torch.h>

#include "datasets/dataset.h"

namespace satclip::data {

// Guards a pooled pinned buffer that a consumer copies from asynchronously (non_blocking to a
// GPU). Dropping the batch does not wait for such a copy, so without the fence the loader could
// fill the buffer with the next batch while the copy still reads it (a torn batch). The consumer
// records the copy (an event on the device's current stream, after enqueueing it); the loader
// waits for the last recorded event before it writes into the buffer again.
class CopyFence {
 public:
  // After the copies out of the buffer were enqueued on `device`'s current stream; no-op off CUDA.
  void record(const c10::Device& device);
  // Blocks until the copies recorded last have finished (at once when none was recorded).
  void wait();

 private:
  std::mutex mutex_;
  std::unique_ptr<c10::Event> event_;
};

struct Batch {
  torch::Tensor images;  // uint16 [B, C, H, W]
  torch::Tensor lat;     // float64 [B]
  torch::Tensor lon;     // float64 [B]
  torch::Tensor index;   // int64 [B], global dataset indices
  std::shared_ptr<CopyFence> images_fence;  // the pooled image buffer's fence (see CopyFence)
};

// `raw`'s images and coordinates copied to `device` on `stream` (asynchronously from page-locked
// memory; the pooled buffer's fence records the copy, so the loader refills it only afterwards);
// the index stays on the host. The caller makes its compute stream wait for `stream` before use.
Batch copy_to_device(const Batch& raw, const c10::Device& device, const c10::Stream& stream);

struct LoaderOptions {
  int64_t batch_size = 32;
  int workers = 2;
  int prefetch = 4;
  bool pin_memory = false;  // page-locked batches for fast, asynchronous copies to a GPU
};

class Loader {
 public:
  // `indices`: the global dataset indices to visit, in order (e.g. a sampler's output).
  Loader(std::shared_ptr<const ShardedDataset> dataset, std::vector<int64_t> indices, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Queues `indices` after the lists given so far; its batches follow theirs (the last batch of
  // each list may be smaller). Checked like the constructor's list. Call from the consumer's thread.
  void append(const std::vector<int64_t>& indices);

  // The next batch; false when every list given so far is exhausted. Rethrows a worker's error.
  bool next(Batch& out);
  // Whether next() would return at once: the next batch is built (or failed), or none is left.
  bool ready();
  // How many batches are built and waiting in order from the next one (0 to prefetch): a loader
  // that keeps up with its consumer shows more than 0 when asked just before next().
  int64_t ready_ahead();
  // Batches over all lists given so far.
  int64_t batches();

  // Where the worker threads' time went since the last call (summed over workers): building
  // batches (reading and decoding their tiles) and waiting for a free slot in the ring (the
  // consumer is slower than they are). Resets the counts.
  struct Stats {
    int64_t built = 0;       // batches built
    int64_t tiles = 0;       // tiles in them
    double build_s = 0;      // seconds spent building them
    double slot_wait_s = 0;  // seconds spent waiting for a free slot
    // Image buffers allocated because none in the pool was free, and the seconds that took,
    // faulting their pages in included (part of build_s): a run's pool stops growing early, so
    // new buffers in a timed span mean its figures include a one-time cost.
    int64_t new_buffers = 0;
    double new_buffer_s = 0;
    // "35.2 ms per batch built (4545 tiles/s each), 80% of their time waiting for a free slot",
    // then ", 3 new buffers (0.150 s)" when buffers were allocated; empty when no batch was built.
    std::string summary() const;
  };
  Stats take_stats();

 private:
  struct Slot {
    int64_t batch = -1;  // which batch the slot holds, -1 when empty
    Batch value;
    std::exception_ptr error;
  };
  void work(int worker);
  // Batch `ids` (indices into the dataset), built into pooled memory; a buffer allocated for it
  // is counted into `cost`'s new_buffers and new_buffer_s.
  Batch build(const std::vector<int64_t>& ids, std::vector<uint8_t>& scratch, Stats& cost);
  void check_indices(const std::vector<int64_t>& indices) const;
  struct PooledBuffer {
    torch::Tensor images;
    std::shared_ptr<CopyFence> fence;
  };
  // A [n, C, H, W] uint16 buffer nobody else references any more and no copy reads any more (its
  // fence waited for), or a new one (allocated outside the pool's lock, so that other workers
  // take free buffers meanwhile). Reusing buffers avoids faulting in fresh pages for every batch,
  // which otherwise costs as much as the copy.
  PooledBuffer acquire_images(int64_t n, Stats& cost);

  std::shared_ptr<const ShardedDataset> dataset_;
  LoaderOptions options_;
  // Guarded by mutex_: every list's indices back to back, and where each batch begins in them
  // (batch k is indices_[starts_[k], starts_[k + 1]), the last one ends at indices_.size()).
  std::vector<int64_t> indices_;
  std::vector<int64_t> starts_;
  int64_t consumed_ = 0;
  std::vector<Slot> ring_;
  Stats stats_;  // guarded by mutex_
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
  std::mutex pool_mutex_;
  std::vector<PooledBuffer> pool_;
};

}  // namespace satclip::data
