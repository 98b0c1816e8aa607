#include "datasets/shard_upgrade.h"

#include <filesystem>
#include <vector>

#include "core/base/fs_util.h"
#include "datasets/h5_util.h"
#include "datasets/manifest.h"

namespace satclip::data {

namespace {

// A variable-length C string type in the character set of `like` (HDF5 does not convert sets).
H5Handle vlen_string_type(hid_t like) {
  H5Handle type = h5_type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  if (like >= 0) H5Tset_cset(type.get(), H5Tget_cset(like));
  return type;
}

// Reads a version 1 variable-length string column (a trusted file: see the header).
std::vector<std::string> read_v1_strings(hid_t file, const char* name, const std::string& path) {
  H5Handle ds = h5_dataset(H5Dopen2(file, name, H5P_DEFAULT));
  H5_CHECK(ds.get(), cat(path, ": no dataset /", name));
  H5Handle space = h5_space(H5Dget_space(ds.get()));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  H5Handle type = vlen_string_type(h5_type(H5Dget_type(ds.get())).get());
  std::vector<char*> ptrs(n > 0 ? size_t(n) : 0, nullptr);
  const herr_t rc = n > 0 ? H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) : 0;
  H5ErrorsKept errors(rc);
  std::vector<std::string> out;
  if (rc >= 0) {
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    if (n > 0) H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
  }
  type.reset();
  space.reset();
  ds.reset();
  errors.restore();
  H5_CHECK(rc, cat(path, ": cannot read /", name));
  return out;
}

std::string read_v1_string_attr(hid_t file, const char* name, const std::string& path) {
  H5Handle attr = h5_attr(H5Aopen(file, name, H5P_DEFAULT));
  H5_CHECK(attr.get(), cat(path, ": no attribute '", name, "'"));
  H5Handle type = vlen_string_type(-1);
  char* p = nullptr;
  const herr_t rc = H5Aread(attr.get(), type.get(), &p);
  H5ErrorsKept errors(rc);
  std::string out = rc >= 0 && p ? p : "";
  if (p) H5free_memory(p);
  type.reset();
  attr.reset();
  errors.restore();
  H5_CHECK(rc, cat(path, ": cannot read attribute '", name, "'"));
  return out;
}

// Returns false when the shard is already at the current version.
bool upgrade_shard(const std::string& path) {
  h5_quiet();
  // Checked first (HDF5 would wait forever on a FIFO), then that very file is opened for writing.
  const RegularFile checked(path, "a shard", "pack again");
  H5Handle owned = h5_file(H5Fopen(checked.reopen_name().c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  const hid_t file = owned.get();
  H5_CHECK(file, cat(path, ": cannot open for writing"));
  bool ok = false;
  const int version = h5_read_int_attr(file, "version", ok);
  SATCLIP_CHECK(ok && (version == 1 || version == kShardVersion),
                cat(path, ": shard version ", version, ", expected 1 or ", kShardVersion), "pack again");
  if (version == kShardVersion) return false;
  const std::string format = read_v1_string_attr(file, "format", path);
  SATCLIP_CHECK(format == kShardFormat, cat(path, ": not a satclip shard (format '", format, "')"), "pack again");
  const std::string bands = read_v1_string_attr(file, "bands", path);
  const std::vector<std::string> fn = read_v1_strings(file, "fn", path);
  // Names first, the version attribute last: an interrupted upgrade is redone from the start.
  for (const char* name : {"format", "bands"}) H5_CHECK(H5Adelete(file, name), cat(path, ": rewriting ", name));
  h5_write_string_attr(file, "format", format);
  h5_write_string_attr(file, "bands", bands);
  if (H5Lexists(file, "fn.v2", H5P_DEFAULT) > 0) H5_CHECK(H5Ldelete(file, "fn.v2", H5P_DEFAULT), path);
  h5_write_strings(file, "fn.v2", fn);
  H5_CHECK(H5Ldelete(file, "fn", H5P_DEFAULT), cat(path, ": replacing /fn"));
  H5_CHECK(H5Lmove(file, "fn.v2", file, "fn", H5P_DEFAULT, H5P_DEFAULT), cat(path, ": replacing /fn"));
  H5_CHECK(H5Adelete(file, "version"), cat(path, ": rewriting version"));
  h5_write_int_attr(file, "version", kShardVersion);
  H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL), cat(path, ": flush failed"));
  H5_CHECK(owned.reset(), cat(path, ": close failed"));
  return true;
}

}  // namespace

UpgradeReport upgrade_shard_dir(const std::string& dir) {
  const std::string manifest_path = (std::filesystem::path(dir) / "manifest.json").string();
  Manifest m = read_manifest(manifest_path, /*also_version_1=*/true);
  UpgradeReport report;
  for (const auto& s : m.shards) {
    const std::string path = (std::filesystem::path(dir) / s.file).string();
    if (upgrade_shard(path)) ++report.shards_upgraded;
    else ++report.shards_already_current;
  }
  if (m.version != kShardVersion) {
    m.version = kShardVersion;
    write_manifest(manifest_path, m);
    report.manifest_upgraded = true;
  }
  return report;
}

}  // namespace satclip::data
