#include "core/train/cache/feature_cache.h"

#include <sys/stat.h>


#include <algorithm>
#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/base/duration.h"
#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/hash.h"
#include "core/base/stop_signal.h"
#include "core/train/cache/feature_cache_file.h"

namespace satclip::core {
namespace {

namespace fs = std::filesystem;

bool augmenting(const DataConfig& d) { return d.crop == Crop::kRandom || d.flips; }


// FNV-1a over the image encoder's parameters and buffers (names, shapes and bytes).
std::string encoder_weights_hash(SatClip& model) {
  Fnv1a h;
  auto eat = [&h](const void* p, size_t n) { h.update(p, n); };
  auto tensors = model->image_encoder->named_parameters();
  for (const auto& b : model->image_encoder->named_buffers()) tensors.insert(b.key(), b.value());
  for (const auto& t : tensors) {
    eat(t.key().data(), t.key().size());
    const auto c = t.value().detach().to(torch::kCPU).contiguous();
    for (const int64_t d : c.sizes()) eat(&d, sizeof d);
    eat(c.data_ptr(), size_t(c.nbytes()));
  }
  return hex16(h.value());
}

// The dataset's identity: manifest.json's hash, and each shard file's size and modification time
// (a repacked dataset changes them; hashing every shard would read the whole dataset).
std::string dataset_hash(const std::string& shard_dir) {
  uint64_t h = file_digest(shard_dir + "/manifest.json").hash;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(shard_dir)) {
    if (e.path().extension() == ".h5") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) continue;
    for (const uint64_t v : {uint64_t(st.st_size), uint64_t(st.st_mtim.tv_sec), uint64_t(st.st_mtim.tv_nsec)}) {
      h = mix_pair(h, v);
    }
  }
  return hex16(h);
}

}  // namespace

namespace {

FeatureCache build(SatClip& model, const TileEncoding& req, dist::Communicator& comm) {
  // With stop_on_signal, the ranks agree before each round whether any of them has a stop signal
  // (one small all-gather), so that all stop in the same round, before anything is written.
  std::vector<int64_t> signals;  // by rank, from the last agreement
  std::function<bool()> stop;
  if (req.stop_on_signal) {
    stop = [&] {
      const auto mine = torch::tensor({int64_t(stop_signal())}, torch::kLong).to(req.device);
      const auto all = comm.all_gather(mine, std::vector<int64_t>(size_t(comm.size()), 1)).to(torch::kCPU).contiguous();
      signals.assign(all.data_ptr<int64_t>(), all.data_ptr<int64_t>() + all.numel());
      return std::any_of(signals.begin(), signals.end(), [](int64_t sig) { return sig != 0; });
    };
  }
  // Rank 0 logs the progress every 30 s: on a CPU a full-size build takes most of an hour.
  TileEncoding enc = req;
  if (comm.rank() == 0) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto last = start;
    enc.on_round = [start, last](int64_t done, int64_t total) mutable {
      const auto now = Clock::now();
      if (done == 0 || now - last < std::chrono::seconds(30)) return;
      last = now;
      const double s = std::chrono::duration<double>(now - start).count(), rate = double(done) / s;
      spdlog::info("feature cache: {}/{} tiles ({:.0f}%), {:.1f} tiles/s, ETA {}", done, total,
                   100.0 * double(done) / double(total), rate, format_duration(double(total - done) / rate));
    };
  }
  const bool was_training = model->is_training();
  model->train(false);
  EncodedTiles mine = encode_tiles(model, enc, comm.rank(), comm.size(), stop);
  model->train(was_training);
  if (mine.stopped) throw_if_any_stopped(signals, "while building the feature cache");
  // Collectives run on the run's device (NCCL takes CUDA tensors only); results come back to the CPU.
  auto gather = [&](const torch::Tensor& t) { return comm.all_gather(t.to(req.device)).to(torch::kCPU); };
  FeatureCache c;
  const auto all_index = gather(mine.index);
  const auto order = all_index.argsort();
  c.index = all_index.index_select(0, order);
  c.eval = gather(mine.eval).index_select(0, order);
  if (req.views > 0) c.views = gather(mine.views).index_select(0, order);
  c.row.assign(size_t(req.dataset->size()), -1);
  const int64_t* idx = c.index.data_ptr<int64_t>();
  for (int64_t i = 0; i < c.index.size(0); ++i) c.row[size_t(idx[i])] = i;
  return c;
}

}  // namespace

FeatureCacheSetting feature_cache_setting(const Recipe& recipe) {
  const std::string& v = recipe.data.feature_cache;
  FeatureCacheSetting s;
  if (v.empty() || v == "off") return s;
  if (v == "auto") {
    s.mode = FeatureCacheMode::kAuto;
    s.dir = (fs::absolute(recipe.output.dir).lexically_normal().parent_path() / "feature-cache").string();
  } else {
    s.mode = FeatureCacheMode::kPath;
    s.dir = v;
  }
  return s;
}

void check_feature_cache_recipe(const Recipe& r) {
  const auto& d = r.data;
  if (!feature_cache_setting(r).on()) return;
  SATCLIP_CHECK(r.model.freeze_image_encoder,
                cat("data.feature_cache = ", d.feature_cache, " needs a frozen image encoder, but ",
                    "model.freeze_image_encoder is false"),
                "set data.feature_cache: off to train the image encoder, or freeze it");
  SATCLIP_CHECK(!(augmenting(d) && d.feature_cache_views < 2),
                cat("data.feature_cache = ", d.feature_cache,
                    " with random image augmentation (data.crop = ", option_name(d.crop),
                    ", data.flips = ", d.flips ? "true" : "false", ") needs data.feature_cache_views >= 2: ",
                    "one cached view per tile would drop the augmentation silently"),
                "set data.feature_cache_views: 4 (or more), or turn the augmentation off (data.crop: resize, "
                "data.flips: false)");
  SATCLIP_CHECK(!(!augmenting(d) && d.feature_cache_views > 1),
                cat("data.feature_cache_views = ", d.feature_cache_views, ", but the image transforms are ",
                    "deterministic (data.crop = ", option_name(d.crop),
                    ", data.flips = false): every view would be the same"),
                "set data.feature_cache_views: 1");
}

CacheKey feature_cache_key(const Recipe& r, const std::string& shard_dir, SatClip& model, bool bf16) {
  const auto& d = r.data;
  const bool aug = augmenting(d);
  return {{"dataset", dataset_hash(shard_dir)},
          {"model.image_encoder", option_string(r.model.image_encoder)},
          {"model.in_bands", std::to_string(r.model.in_bands)},
          {"image_encoder_weights", encoder_weights_hash(model)},
          {"data.image_size", std::to_string(d.image_size)},
          {"data.scaling", option_string(d.scaling)},
          {"data.band_layout", option_string(d.band_layout)},
          {"data.crop", option_string(d.crop)},
          {"resize", "bilinear-antialias"},  // crop: resize resamples as torchvision's Resize
          {"data.flips", d.flips ? "true" : "false"},
          {"data.feature_cache_views", std::to_string(aug ? d.feature_cache_views : 0)},
          {"views_seed", aug ? std::to_string(r.run.seed) : "-"},
          {"dtype", bf16 ? "bf16-autocast" : "fp32"}};
}

std::string feature_cache_mismatch(const std::string& dir, const FeatureCacheRequest& req) {
  if (!fs::exists(dir + "/cache.yaml")) return cat("no cache in ", dir);
  try {
    const CacheInfo info = read_cache_info(dir);
    std::vector<std::string> diffs;
    for (const auto& [k, want] : req.key) {
      const std::string& name = k;  // C++17 lambdas cannot capture a structured binding (clang refuses)
      auto it = std::find_if(info.key.begin(), info.key.end(), [&](const auto& p) { return p.first == name; });
      const std::string have = it == info.key.end() ? "(none)" : it->second;
      if (have != want) diffs.push_back(cat(k, ": ", have, " -> ", want));
    }
    if (!diffs.empty()) {
      std::string s = "it was built for other settings (";
      for (size_t i = 0; i < diffs.size(); ++i) s += (i ? "; " : "") + diffs[i];
      return s + ")";
    }
    const FileDigest d = file_digest(dir + "/features.h5");
    if (d.size != info.bytes || d.hash != info.hash) {
      return cat("features.h5 is damaged or incomplete (", d.size, " bytes, hash ", hex16(d.hash), "; cache.yaml says ",
                 info.bytes, " bytes, hash ", hex16(info.hash), ")");
    }
    const auto index = read_cache_index(dir, info);
    const int64_t* p = index.data_ptr<int64_t>();
    int64_t missing = 0;
    const auto& need = req.encoding.indices;
    for (const int64_t g : need) missing += !std::binary_search(p, p + index.numel(), g);
    if (missing > 0) return cat("it lacks ", missing, " of the ", need.size(), " tiles this split needs");
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

std::shared_ptr<const FeatureCache> open_feature_cache(SatClip& model, const FeatureCacheRequest& req,
                                                       dist::Communicator& comm) {
  // Rank 0 decides, every rank follows (the same decision everywhere, whatever each one sees).
  std::string why = comm.rank() == 0 ? feature_cache_mismatch(req.dir, req) : "";
  const TileEncoding& enc = req.encoding;
  auto rebuild = torch::tensor({why.empty() ? 0L : 1L}, torch::kLong).to(enc.device);
  comm.broadcast(rebuild, 0);
  if (rebuild.item<int64_t>() == 0) {
    const CacheInfo info = read_cache_info(req.dir);
    auto cache = std::make_shared<FeatureCache>(read_feature_cache(req.dir, info, enc.dataset->size()));
    spdlog::info("feature cache {}: {} tiles x {} features{} (reused)", req.dir, info.tiles, info.dim,
                 info.views ? cat(" x ", info.views, " views") : "");
    return cache;
  }
  if (comm.rank() == 0) spdlog::info("building the feature cache in {}: {}", req.dir, why);
  const auto t0 = std::chrono::steady_clock::now();
  auto cache = std::make_shared<FeatureCache>(build(model, enc, comm));
  // Rank 0 writes. Every rank holds the features, so a failed write (a full disk, a read-only
  // folder) costs only the next run's rebuild: a warning, and training goes on. No rank waits on
  // the write; the next collective of the run does.
  if (comm.rank() == 0) {
    try {
      write_feature_cache(req.dir, req.key, *cache);
    } catch (const Error& e) {
      spdlog::warn("feature cache {} not written: {}{}; training goes on with the features in memory, "
                   "and the next run builds them again", req.dir, e.message(),
                   e.hint().empty() ? "" : cat(" (", e.hint(), ")"));
    }
  }
  // The time includes rank 0's write, as a one-time cost of the cache (bench_feature_cache.sh).
  spdlog::info("feature cache {}: {} tiles x {} features{} built in {:.1f} s", req.dir, cache->index.size(0),
               cache->dim(), enc.views ? cat(" x ", enc.views, " views") : "",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return cache;
}

}  // namespace satclip::core
