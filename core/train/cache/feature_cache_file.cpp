#include "core/train/cache/feature_cache_file.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <yaml-cpp/yaml.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/hash.h"
#include "datasets/h5_handle.h"
#include "datasets/h5_util.h"

namespace satclip::core {
namespace {

namespace fs = std::filesystem;
using data::H5Handle;
constexpr const char* kHint = "delete the cache directory; the next run rebuilds it";
constexpr size_t kMaxInfoBytes = size_t{1} << 20;  // cache.yaml: the key and a few sizes
constexpr int64_t kMaxDim = 1 << 16, kMaxViews = 64, kMaxTiles = int64_t{1} << 32;

// Writes float32 or int64 `t` (contiguous CPU) as the dataset /name.
void write_tensor(hid_t file, const char* name, const torch::Tensor& t, const std::string& path) {
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  const bool f32 = t.scalar_type() == torch::kFloat;
  H5Handle space = data::h5_space(H5Screate_simple(int(dims.size()), dims.data(), nullptr));
  H5Handle dcpl = data::h5_plist(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(dcpl.get(), false);  // no timestamps: the same features give the same file
  H5Handle ds = data::h5_dataset(
      H5Dcreate2(file, name, f32 ? H5T_IEEE_F32LE : H5T_STD_I64LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
  const herr_t rc = !ds.valid() ? -1
                                : (t.numel() == 0 ? 0
                                                  : H5Dwrite(ds.get(), f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64,
                                                             H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()));
  data::H5ErrorsKept errors(rc);
  ds.reset();
  dcpl.reset();
  space.reset();
  errors.restore();
  H5_CHECK(rc, cat(path, ": writing /", name));
}

// Reads /name, which must be of `dims` exactly and of the class of `dtype` (float32 or int64).
torch::Tensor read_tensor(hid_t file, const char* name, std::vector<int64_t> dims, torch::ScalarType dtype,
                          const std::string& path) {
  H5Handle ds = data::h5_dataset(H5Dopen2(file, name, H5P_DEFAULT));
  SATCLIP_CHECK(ds.valid(), cat(path, ": no dataset /", name), kHint);
  const H5Handle space = data::h5_space(H5Dget_space(ds.get()));
  const H5Handle type = data::h5_type(H5Dget_type(ds.get()));
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  std::vector<hsize_t> got(rank > 0 && rank <= 8 ? rank : 0);
  if (!got.empty()) H5Sget_simple_extent_dims(space.get(), got.data(), nullptr);
  const bool f32 = dtype == torch::kFloat;
  const bool type_ok = type.valid() && H5Tget_class(type.get()) == (f32 ? H5T_FLOAT : H5T_INTEGER) &&
                       H5Tget_size(type.get()) == (f32 ? 4u : 8u);
  bool shape_ok = got.size() == dims.size();
  for (size_t i = 0; shape_ok && i < dims.size(); ++i) shape_ok = got[i] == hsize_t(dims[i]);
  if (!type_ok || !shape_ok) {
    std::string want;
    for (size_t i = 0; i < dims.size(); ++i) want += cat(i ? ", " : "", dims[i]);
    SATCLIP_FAIL(cat(path, ": /", name, " is not ", f32 ? "float32" : "int64", " [", want, "]"), kHint);
  }
  auto t = torch::empty(dims, torch::TensorOptions().dtype(dtype));
  const herr_t rc = t.numel() == 0 ? 0
                                   : H5Dread(ds.get(), f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                                             H5P_DEFAULT, t.data_ptr());
  data::H5ErrorsKept errors(rc);
  ds.reset();
  errors.restore();
  SATCLIP_CHECK(rc >= 0, cat(path, ": cannot read /", name, " (", data::h5_error_detail(), ")"), kHint);
  return t;
}

// Creates `path`, or opens it read-only after checking that it is a regular HDF5 file (HDF5 would
// wait on a FIFO); then that very file is opened.
H5Handle open_h5(const std::string& path, bool create) {
  data::h5_quiet();
  H5Handle file;
  if (create) {
    file = data::h5_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  } else {
    const RegularFile checked(path, "an HDF5 file", kHint);
    const std::string same_file = checked.reopen_name();
    if (H5Fis_hdf5(same_file.c_str()) > 0) file = data::h5_file(H5Fopen(same_file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  }
  SATCLIP_CHECK(file.valid(), cat(path, create ? ": cannot create" : ": not a readable HDF5 file"), kHint);
  return file;
}

// features.h5 and then cache.yaml (with the digest of features.h5) in the folder `tmp`, synced.
void write_cache_files(const std::string& tmp, const CacheKey& key, const FeatureCache& cache) {
  const std::string h5 = tmp + "/features.h5";
  {
    H5Handle file = open_h5(h5, /*create=*/true);
    write_tensor(file.get(), "index", cache.index.contiguous(), h5);
    write_tensor(file.get(), "eval", cache.eval.contiguous(), h5);
    if (cache.views.defined()) write_tensor(file.get(), "views", cache.views.contiguous(), h5);
    H5_CHECK(file.reset(), cat(h5, ": close failed"));
  }
  fsync_path(h5, /*dir=*/false);
  const FileDigest d = file_digest(h5);
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "format" << YAML::Value << kCacheFormat << YAML::Key << "version"
    << YAML::Value << kCacheVersion << YAML::Key << "key" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : key) y << YAML::Key << k << YAML::Value << v;
  y << YAML::EndMap << YAML::Key << "tiles" << YAML::Value << cache.index.size(0) << YAML::Key << "views"
    << YAML::Value << (cache.views.defined() ? cache.views.size(1) : 0) << YAML::Key << "dim" << YAML::Value
    << cache.dim() << YAML::Key << "features_bytes" << YAML::Value << d.size << YAML::Key << "features_fnv1a"
    << YAML::Value << hex16(d.hash) << YAML::EndMap;
  {
    std::ofstream out(tmp + "/cache.yaml");
    out << y.c_str() << "\n";
    out.close();
    SATCLIP_CHECK(out.good(), cat(tmp, "/cache.yaml: write failed"), "check free disk space");
  }
  fsync_path(tmp + "/cache.yaml", /*dir=*/false);
  fsync_path(tmp, /*dir=*/true);
}

}  // namespace

void write_feature_cache(const std::string& dir, const CacheKey& key, const FeatureCache& cache) {
  const fs::path final_dir = fs::absolute(dir);
  const std::string tmp = cat(final_dir.string(), ".partial-", ::getpid());
  try {
    fs::create_directories(final_dir.parent_path());
    remove_tree(tmp);
    fs::create_directories(tmp);
    write_cache_files(tmp, key, cache);
    remove_tree(final_dir.string());
    std::error_code ec;
    fs::rename(tmp, final_dir, ec);
    SATCLIP_CHECK(!ec, cat("cannot rename ", tmp, " to ", final_dir.string(), ": ", ec.message()),
                  "check that the folder is writable");
  } catch (const Error&) {  // a full disk, say: leave no half-written folder behind
    remove_tree(tmp);
    throw;
  } catch (const std::exception& e) {  // std::filesystem's errors: the same, named as ours are
    remove_tree(tmp);
    SATCLIP_FAIL(cat(final_dir.string(), ": cannot write the feature cache (", e.what(), ")"),
                 "check that the folder is writable and has free space, or set data.feature_cache: off");
  }
  fsync_path(final_dir.parent_path().string(), /*dir=*/true);
}

CacheInfo read_cache_info(const std::string& dir) {
  const std::string path = dir + "/cache.yaml";
  SATCLIP_CHECK(fs::exists(path), cat(path, ": no cache there"), kHint);
  CacheInfo info;
  try {
    const YAML::Node root = YAML::Load(read_regular_file(path, kMaxInfoBytes, "a cache description", kHint));
    SATCLIP_CHECK(root.IsMap() && root["format"] && root["format"].as<std::string>() == kCacheFormat &&
                      root["version"] && root["version"].as<int>() == kCacheVersion,
                  cat(path, ": not a version ", kCacheVersion, " ", kCacheFormat, " file"), kHint);
    const YAML::Node key = root["key"];
    SATCLIP_CHECK(key && key.IsMap(), cat(path, ": no 'key' mapping"), kHint);
    for (const auto& kv : key) info.key.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
    info.tiles = root["tiles"].as<int64_t>();
    info.views = root["views"].as<int64_t>();
    info.dim = root["dim"].as<int64_t>();
    info.bytes = root["features_bytes"].as<uint64_t>();
    info.hash = std::stoull(root["features_fnv1a"].as<std::string>(), nullptr, 16);
  } catch (const YAML::Exception& e) {
    SATCLIP_FAIL(cat(path, ": malformed (", e.msg, ")"), kHint);
  } catch (const std::logic_error&) {  // stoull
    SATCLIP_FAIL(cat(path, ": malformed features_fnv1a"), kHint);
  }
  SATCLIP_CHECK(info.tiles >= 0 && info.tiles <= kMaxTiles && info.views >= 0 && info.views <= kMaxViews &&
                    info.dim > 0 && info.dim <= kMaxDim,
                cat(path, ": implausible sizes (", info.tiles, " tiles, ", info.views, " views, dim ", info.dim, ")"),
                kHint);
  return info;
}

torch::Tensor read_cache_index(const std::string& dir, const CacheInfo& info) {
  const std::string h5 = dir + "/features.h5";
  const H5Handle file = open_h5(h5, /*create=*/false);
  return read_tensor(file.get(), "index", {info.tiles}, torch::kLong, h5);
}

FeatureCache read_feature_cache(const std::string& dir, const CacheInfo& info, int64_t dataset_size) {
  const std::string h5 = dir + "/features.h5";
  const H5Handle file = open_h5(h5, /*create=*/false);
  FeatureCache c;
  c.index = read_tensor(file.get(), "index", {info.tiles}, torch::kLong, h5);
  c.eval = read_tensor(file.get(), "eval", {info.tiles, info.dim}, torch::kFloat, h5);
  if (info.views > 0) c.views = read_tensor(file.get(), "views", {info.tiles, info.views, info.dim}, torch::kFloat, h5);
  c.row.assign(size_t(dataset_size), -1);
  const int64_t* idx = c.index.data_ptr<int64_t>();
  for (int64_t i = 0; i < info.tiles; ++i) {
    SATCLIP_CHECK(idx[i] >= 0 && idx[i] < dataset_size && (i == 0 || idx[i] > idx[i - 1]),
                  cat(h5, ": /index[", i, "] = ", idx[i], " is not ascending inside [0, ", dataset_size, ")"), kHint);
    c.row[size_t(idx[i])] = i;
  }
  return c;
}

torch::Tensor FeatureCache::gather(const std::vector<int64_t>& indices, bool training, uint64_t view_seed) const {
  std::vector<int64_t> rows(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t g = indices[i];
    SATCLIP_CHECK(g >= 0 && g < int64_t(row.size()) && row[size_t(g)] >= 0,
                  cat("the feature cache has no tile ", g), "delete the cache directory; the next run rebuilds it");
    rows[i] = row[size_t(g)];
  }
  const auto r = torch::tensor(rows, torch::kLong);
  if (!training || !views.defined()) return eval.index_select(0, r);
  const int64_t k = views.size(1);
  std::vector<int64_t> flat(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) flat[i] = rows[i] * k + int64_t(mix_pair(view_seed, uint64_t(indices[i])) % uint64_t(k));
  return views.reshape({-1, views.size(2)}).index_select(0, torch::tensor(flat, torch::kLong));
}

}  // namespace satclip::core
