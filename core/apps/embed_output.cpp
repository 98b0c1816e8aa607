#include "core/apps/embed_output.h"

#include <cstdio>
#include <filesystem>

#include <ATen/ATen.h>
#include <hdf5.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/text.h"
#include "datasets/h5_handle.h"

namespace satclip::cli {
namespace {

using data::H5Handle;
using data::h5_dataset;
using data::h5_file;
using data::h5_space;

// `handle`, or an error naming `what` when the HDF5 call that made it failed.
H5Handle checked(H5Handle handle, const std::string& what) {
  SATCLIP_CHECK(handle.valid(), cat("HDF5: ", what, " failed"), "check the output path and free disk space");
  return handle;
}

void write_dataset(hid_t file, const char* name, hid_t type, std::vector<hsize_t> dims, const void* data,
                   const std::string& path) {
  const H5Handle space = checked(h5_space(H5Screate_simple(int(dims.size()), dims.data(), nullptr)),
                                 cat("dataspace for ", name));
  const H5Handle set = checked(
      h5_dataset(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)),
      cat("creating ", name, " in ", path));
  SATCLIP_CHECK(H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
                cat(path, ": writing ", name, " failed"), "check free disk space");
}

void write_csv(const std::string& path, const at::Tensor& ll, const at::Tensor& e) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  SATCLIP_CHECK(f != nullptr, cat(path, ": cannot open for writing"), "check the output folder");
  std::fputs("lat,lon", f);
  for (int64_t d = 0; d < e.size(1); ++d) std::fprintf(f, ",e%lld", (long long)d);
  std::fputs("\n", f);
  const double* p = ll.data_ptr<double>();
  const float* v = e.data_ptr<float>();
  for (int64_t i = 0; i < e.size(0); ++i) {
    std::fprintf(f, "%.9g,%.9g", p[2 * i], p[2 * i + 1]);
    for (int64_t d = 0; d < e.size(1); ++d) std::fprintf(f, ",%.9g", double(v[i * e.size(1) + d]));
    std::fputs("\n", f);
  }
  const bool ok = std::fflush(f) == 0 && !std::ferror(f);
  const bool closed = std::fclose(f) == 0;
  SATCLIP_CHECK(ok && closed, cat(path, ": write failed"), "check free disk space");
}

void write_h5(const std::string& path, const at::Tensor& ll, const at::Tensor& e) {
  const H5Handle file =
      checked(h5_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)), cat("creating ", path));
  const auto lat = ll.select(1, 0).contiguous(), lon = ll.select(1, 1).contiguous();
  const auto n = static_cast<hsize_t>(e.size(0)), d = static_cast<hsize_t>(e.size(1));
  write_dataset(file.get(), "/lat", H5T_NATIVE_DOUBLE, {n}, lat.data_ptr<double>(), path);
  write_dataset(file.get(), "/lon", H5T_NATIVE_DOUBLE, {n}, lon.data_ptr<double>(), path);
  write_dataset(file.get(), "/embeddings", H5T_NATIVE_FLOAT, {n, d}, e.data_ptr<float>(), path);
  // Flushed here, where a failure is seen: the handle's close cannot report one.
  SATCLIP_CHECK(H5Fflush(file.get(), H5F_SCOPE_LOCAL) >= 0, cat(path, ": write failed"), "check free disk space");
}

}  // namespace

EmbedFormat embed_format_of(const std::string& path) {
  if (ends_with(path, ".csv")) return EmbedFormat::kCsv;
  if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return EmbedFormat::kHdf5;
  SATCLIP_FAIL(cat("--out ", path, ": unknown format"), "name the output FILE.csv or FILE.h5");
}

void write_embeddings(const std::string& path, EmbedFormat format, const at::Tensor& lat_lon, const at::Tensor& embeddings) {
  const auto ll = lat_lon.to(at::kDouble).contiguous();
  const auto e = embeddings.to(at::kFloat).contiguous();
  SATCLIP_CHECK(ll.size(0) == e.size(0) && (e.size(0) == 0 || e.dim() == 2), "embedding rows do not match the inputs", "");
  satclip::replace_file(path, [&](const std::string& tmp) {
    if (format == EmbedFormat::kCsv) {
      write_csv(tmp, ll, e);
    } else {
      write_h5(tmp, ll, e);
    }
  });
}

}  // namespace satclip::cli
