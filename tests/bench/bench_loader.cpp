// Benchmark: reading tiles.
//   bench_loader shards DIR [--workers W] [--batch B] [--epochs E] [--pinned auto|on|off] [--prefetch P]
//       One Loader over every tile of the shard directory, E epochs in shuffled orders queued
//       as the trainer queues them (Loader::append), with the trainer's default prefetch
//       (workers + 2, or P) and, where CUDA is available (or --pinned on), its page-locked batches;
//       tiles/s and MB/s of pixel data over E - 1 epochs, and where the loader threads' time went
//       (as in the trainer's step-time lines). Warm-up epochs come first, until one allocates
//       no new batch buffer (at most 10): a training run fills its buffer pool once.
//   bench_loader raw DIR [--workers W] [--batch B]
//       The bandwidth bound: the same shard files read with pread() in tile-sized pieces by W
//       threads into buffers of one batch each, allocated and touched before the clock starts
//       (no HDF5, no tensors); the best of 3 passes.
//   bench_loader cold DIR [--workers W] [--batch B]
//       Reads from the disk, not the page cache: every shard file's cached pages are dropped
//       (posix_fadvise DONTNEED; check with `fincore`), then one epoch in shuffled order is timed
//       from the loader's start, then the same epoch again with the files now cached. Prints
//       tiles/s and the MB/s of file bytes (compressed as stored) each way.
//   bench_loader geotiff INDEX IMAGES [--limit N]
//       The seed's path: one GeoTIFF at a time through GDAL, on one thread.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/apps/cli.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "datasets/sampler.h"
#ifdef SATCLIP_HAVE_GDAL
#include "datasets/geotiff.h"
#include "datasets/s2_index.h"
#endif

using namespace satclip::data;
using Clock = std::chrono::steady_clock;

namespace {

int shards(const satclip::cli::Args& a) {
  const auto ds = ShardedDataset::open(a.positional().at(1));
  LoaderOptions o;
  o.workers = static_cast<int>(a.integer("workers", 2, 1, 256));
  o.batch_size = a.integer("batch", 64, 1, 65536);
  o.prefetch = static_cast<int>(a.integer("prefetch", o.workers + 2, 1, 1024));  // default: data.prefetch auto
  // The Loader pins only where CUDA is, so on and auto are the same there.
  o.pin_memory = a.choice("pinned", satclip::Switch::kAuto) != satclip::Switch::kOff && torch::cuda::is_available();
  const int epochs = static_cast<int>(a.integer("epochs", 4, 2, 100));
  const auto order = [&](int e) { return DistributedSampler(ds->size(), 0, 1, {1, false}).indices(e); };
  // One epoch stays queued behind the current one, as in the trainer. Warm-up epochs run until
  // one allocates no new buffer (at most 10): a pool still growing inside the timed epochs would
  // put its one-time cost into a span of about a second.
  Loader loader(ds, order(0), o);
  int queued = 1, warm = 0, timed = 0;
  loader.append(order(queued++));
  const int64_t per_epoch = (ds->size() + o.batch_size - 1) / o.batch_size;
  Batch b;
  int64_t taken = 0, pixels = 0;
  bool timing = false;
  auto t0 = Clock::now();
  while (timed < epochs - 1 && loader.next(b)) {
    pixels += b.images.numel();
    if (++taken % per_epoch != 0) continue;  // an epoch ends here
    if (timing) {
      ++timed;
    } else if (++warm == 10 || loader.take_stats().new_buffers == 0) {
      timing = true;
      loader.take_stats();
      t0 = Clock::now();
    }
    loader.append(order(queued++));
  }
  const auto st = loader.take_stats();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (timed != epochs - 1 || pixels != (warm + timed) * ds->size() * ds->tile_pixels()) return 1;
  const double tiles = double(timed) * ds->size(), mb = tiles * ds->tile_pixels() * 2 / 1048576.0;
  std::printf("loader: %lld tiles (%s), %d workers, %d ahead, batch %lld%s, %d epochs after %d of warm-up: %.3f s per "
              "epoch, %.0f tiles/s, %.0f MB/s; loader threads %s\n",
              (long long)ds->size(), ds->manifest().compression.c_str(), o.workers, o.prefetch,
              (long long)o.batch_size, o.pin_memory ? ", pinned" : "", timed, warm, seconds / timed,
              tiles / seconds, mb / seconds, st.summary().c_str());
  return 0;
}

// Seconds for one epoch of `ds` in shuffled order through a fresh Loader, from its start.
double one_epoch(const std::shared_ptr<ShardedDataset>& ds, const LoaderOptions& o) {
  const auto t0 = Clock::now();
  Loader loader(ds, DistributedSampler(ds->size(), 0, 1, {1, false}).indices(0), o);
  Batch b;
  int64_t tiles = 0;
  while (loader.next(b)) tiles += b.images.size(0);
  if (tiles != ds->size()) std::exit(1);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int cold(const satclip::cli::Args& a) {
  const std::string dir = a.positional().at(1);
  const auto ds = ShardedDataset::open(dir);
  LoaderOptions o;
  o.workers = static_cast<int>(a.integer("workers", 2, 1, 256));
  o.batch_size = a.integer("batch", 64, 1, 65536);
  o.prefetch = o.workers + 2;
  double bytes = 0;
  for (const auto& s : ds->manifest().shards) {
    const std::string path = (std::filesystem::path(dir) / s.file).string();
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0 || ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) return 1;
    bytes += double(std::filesystem::file_size(path));
    ::close(fd);
  }
  const double cold_s = one_epoch(ds, o), warm_s = one_epoch(ds, o);
  const double n = double(ds->size());
  std::printf("cold: %lld tiles (%s, %.2f GB of files), %d workers: from disk %.0f tiles/s (%.0f MB/s of file "
              "bytes), the same epoch cached %.0f tiles/s (%.0f MB/s)\n",
              (long long)ds->size(), ds->manifest().compression.c_str(), bytes / 1e9, o.workers, n / cold_s,
              bytes / 1048576.0 / cold_s, n / warm_s, bytes / 1048576.0 / warm_s);
  return 0;
}

int raw(const satclip::cli::Args& a) {
  const auto ds = ShardedDataset::open(a.positional().at(1));
  const int workers = static_cast<int>(a.integer("workers", 2, 1, 256));
  const int64_t batch = a.integer("batch", 64, 1, 65536);
  const size_t tile = size_t(ds->tile_pixels()) * 2;
  std::vector<std::string> files;
  int64_t total = 0;
  for (const auto& s : ds->manifest().shards) {
    files.push_back((std::filesystem::path(a.positional().at(1)) / s.file).string());
    total += std::filesystem::file_size(files.back());
  }
  double best = 1e30;
  for (int pass = 0; pass < 3; ++pass) {
    std::atomic<size_t> next{0};
    std::vector<std::vector<char>> buffers(workers, std::vector<char>(tile * batch));  // faulted in here
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&, w] {
        auto& buffer = buffers[w];
        for (size_t f = next++; f < files.size(); f = next++) {
          const int fd = ::open(files[f].c_str(), O_RDONLY);
          size_t slot = 0;
          for (off_t off = 0;; off += off_t(tile), slot = (slot + 1) % size_t(batch)) {
            if (::pread(fd, buffer.data() + slot * tile, tile, off) <= 0) break;
          }
          ::close(fd);
        }
      });
    }
    for (auto& t : pool) t.join();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::printf("raw pread: %.2f GB of shard files, %d threads, batch-sized buffers: %.3f s, %.0f MB/s\n",
              total / 1e9, workers, best, total / 1048576.0 / best);
  return 0;
}

int geotiff(const satclip::cli::Args& a) {
#ifdef SATCLIP_HAVE_GDAL
  const auto records = read_s2_index(a.positional().at(1));
  const std::string images = a.positional().at(2);
  const int64_t n = std::min<int64_t>(a.integer("limit", 300, 1, 1 << 30), records.size());
  const auto t0 = Clock::now();
  double mb = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Tile t = read_geotiff(images + "/" + records[i].fn);
    mb += t.data.size() * 2 / 1048576.0;
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("geotiff: %lld tiles one at a time through GDAL: %.3f s, %.0f tiles/s, %.0f MB/s\n",
              (long long)n, s, n / s, mb / s);
  return 0;
#else
  std::fprintf(stderr, "built without GDAL\n");
  return 2;
#endif
}

int body(int argc, char** argv) {
  satclip::cli::Args a(argc, argv, {"workers", "batch", "epochs", "limit", "pinned", "prefetch"});
  if (a.help() || a.positional().empty()) {
    std::puts("usage: bench_loader shards DIR [--workers W] [--batch B] [--epochs E (2 or more)] [--pinned auto|on|off]\n"
              "                          [--prefetch P (default W + 2)]\n"
              "       bench_loader raw DIR [--workers W] [--batch B]\n"
              "       bench_loader cold DIR [--workers W] [--batch B]\n"
              "       bench_loader geotiff INDEX IMAGES [--limit N]");
    return a.help() ? 0 : 2;
  }
  if (a.positional()[0] == "raw") return raw(a);
  if (a.positional()[0] == "cold") return cold(a);
  return a.positional()[0] == "geotiff" ? geotiff(a) : shards(a);
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("bench_loader", body, argc, argv); }
