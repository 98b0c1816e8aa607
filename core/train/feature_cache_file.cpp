#include "core/train/feature_cache_file.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <yaml-cpp/yaml.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "datasets/h5_util.h"

namespace satclip::core {
namespace {

namespace fs = std::filesystem;
constexpr const char* kHint = "delete the cache directory; the next run rebuilds it";
constexpr size_t kMaxInfoBytes = size_t{1} << 20;  // cache.yaml: the key and a few sizes
constexpr int64_t kMaxDim = 1 << 16, kMaxViews = 64, kMaxTiles = int64_t{1} << 32;

// Writes float32 or int64 `t` (contiguous CPU) as the dataset /name.
void write_tensor(hid_t file, const char* name, const torch::Tensor& t, const std::string& path) {
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  const bool f32 = t.scalar_type() == torch::kFloat;
  hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_obj_track_times(dcpl, false);  // no timestamps: the same features give the same file
  hid_t ds = H5Dcreate2(file, name, f32 ? H5T_IEEE_F32LE : H5T_STD_I64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  const herr_t rc = ds < 0 ? -1
                           : (t.numel() == 0 ? 0
                                             : H5Dwrite(ds, f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, H5S_ALL,
                                                        H5S_ALL, H5P_DEFAULT, t.data_ptr()));
  data::H5ErrorsKept errors(rc);
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  errors.restore();
  H5_CHECK(rc, cat(path, ": writing /", name));
}

// Reads /name, which must be of `dims` exactly and of the class of `dtype` (float32 or int64).
torch::Tensor read_tensor(hid_t file, const char* name, std::vector<int64_t> dims, torch::ScalarType dtype,
                          const std::string& path) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  SATCLIP_CHECK(ds >= 0, cat(path, ": no dataset /", name), kHint);
  hid_t space = H5Dget_space(ds);
  hid_t type = H5Dget_type(ds);
  const int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  std::vector<hsize_t> got(rank > 0 && rank <= 8 ? rank : 0);
  if (!got.empty()) H5Sget_simple_extent_dims(space, got.data(), nullptr);
  const bool f32 = dtype == torch::kFloat;
  const bool type_ok = type >= 0 && H5Tget_class(type) == (f32 ? H5T_FLOAT : H5T_INTEGER) &&
                       H5Tget_size(type) == (f32 ? 4u : 8u);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  bool shape_ok = got.size() == dims.size();
  for (size_t i = 0; shape_ok && i < dims.size(); ++i) shape_ok = got[i] == hsize_t(dims[i]);
  if (!type_ok || !shape_ok) {
    H5Dclose(ds);
    std::string want;
    for (size_t i = 0; i < dims.size(); ++i) want += cat(i ? ", " : "", dims[i]);
    SATCLIP_FAIL(cat(path, ": /", name, " is not ", f32 ? "float32" : "int64", " [", want, "]"), kHint);
  }
  auto t = torch::empty(dims, torch::TensorOptions().dtype(dtype));
  const herr_t rc = t.numel() == 0 ? 0
                                   : H5Dread(ds, f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                                             H5P_DEFAULT, t.data_ptr());
  data::H5ErrorsKept errors(rc);
  H5Dclose(ds);
  errors.restore();
  SATCLIP_CHECK(rc >= 0, cat(path, ": cannot read /", name, " (", data::h5_error_detail(), ")"), kHint);
  return t;
}

// An HDF5 file handle closed on every path.
class H5File {
 public:
  H5File(const std::string& path, bool create) : path_(path) {
    data::h5_quiet();
    if (create) {
      id_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    } else {  // checked first (HDF5 would wait on a FIFO), then that very file is opened
      const RegularFile checked(path, "an HDF5 file", kHint);
      const std::string same_file = checked.reopen_name();
      id_ = H5Fis_hdf5(same_file.c_str()) > 0 ? H5Fopen(same_file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    }
    SATCLIP_CHECK(id_ >= 0, cat(path, create ? ": cannot create" : ": not a readable HDF5 file"), kHint);
  }
  ~H5File() {
    if (id_ >= 0) H5Fclose(id_);
  }
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  hid_t id() const { return id_; }
  void close() {
    const herr_t rc = H5Fclose(id_);
    id_ = -1;
    H5_CHECK(rc, cat(path_, ": close failed"));
  }

 private:
  std::string path_;
  hid_t id_ = -1;
};

// features.h5 and then cache.yaml (with the digest of features.h5) in the folder `tmp`, synced.
void write_cache_files(const std::string& tmp, const CacheKey& key, const FeatureCache& cache) {
  const std::string h5 = tmp + "/features.h5";
  {
    H5File file(h5, /*create=*/true);
    write_tensor(file.id(), "index", cache.index.contiguous(), h5);
    write_tensor(file.id(), "eval", cache.eval.contiguous(), h5);
    if (cache.views.defined()) write_tensor(file.id(), "views", cache.views.contiguous(), h5);
    file.close();
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
  H5File file(h5, /*create=*/false);
  return read_tensor(file.id(), "index", {info.tiles}, torch::kLong, h5);
}

FeatureCache read_feature_cache(const std::string& dir, const CacheInfo& info, int64_t dataset_size) {
  const std::string h5 = dir + "/features.h5";
  H5File file(h5, /*create=*/false);
  FeatureCache c;
  c.index = read_tensor(file.id(), "index", {info.tiles}, torch::kLong, h5);
  c.eval = read_tensor(file.id(), "eval", {info.tiles, info.dim}, torch::kFloat, h5);
  if (info.views > 0) c.views = read_tensor(file.id(), "views", {info.tiles, info.views, info.dim}, torch::kFloat, h5);
  c.row.assign(size_t(dataset_size), -1);
  const int64_t* idx = c.index.data_ptr<int64_t>();
  for (int64_t i = 0; i < info.tiles; ++i) {
    SATCLIP_CHECK(idx[i] >= 0 && idx[i] < dataset_size && (i == 0 || idx[i] > idx[i - 1]),
                  cat(h5, ": /index[", i, "] = ", idx[i], " is not ascending inside [0, ", dataset_size, ")"), kHint);
    c.row[size_t(idx[i])] = i;
  }
  return c;
}

}  // namespace satclip::core
