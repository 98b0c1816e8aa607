#include "datasets/h5_shards.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <sstream>

#include <zlib.h>

#include "core/base/fs_util.h"
#include "core/base/text.h"
#include "datasets/h5_util.h"
#include "datasets/zstd_filter.h"

namespace satclip::data {

Compression Compression::parse(const std::string& text) {
  Compression c;
  if (text == "none") return c;
  if (text == "szip") {
    c.kind = Kind::kSzip;
    return c;
  }
  if (text == "gzip" || starts_with(text, "gzip:")) {
    c.kind = Kind::kGzip;
    if (text.size() > 5) {
      const std::string l = text.substr(5);
      SATCLIP_CHECK(l.size() == 1 && l[0] >= '1' && l[0] <= '9',
                    cat("compression '", text, "': the gzip level must be 1..9"), "use e.g. gzip:4");
      c.level = l[0] - '0';
    }
    return c;
  }
  if (text == "zstd" || starts_with(text, "zstd:")) {
    c.kind = Kind::kZstd;
    c.level = kDefaultZstdLevel;
    int64_t l = 0;
    SATCLIP_CHECK(text.size() == 4 || (parse_integer(text.substr(5), l) && l >= 1 && l <= kZstdMaxLevel),
                  cat("compression '", text, "': the zstd level must be 1..", kZstdMaxLevel), "use e.g. zstd:3");
    if (text.size() > 4) c.level = int(l);
    return c;
  }
  SATCLIP_FAIL(cat("unknown compression '", text, "'"),
               "use none, gzip, gzip:L (L = 1..9), szip, zstd or zstd:L (L = 1..19)");
}

std::string Compression::str() const {
  switch (kind) {
    case Kind::kNone: return "none";
    case Kind::kGzip: return "gzip:" + std::to_string(level);
    case Kind::kSzip: return "szip";
    case Kind::kZstd: return "zstd:" + std::to_string(level);
  }
  return "?";
}

std::vector<uint8_t> deflate_bytes(const void* data, size_t bytes, int level) {
  uLongf n = compressBound(bytes);
  std::vector<uint8_t> out(n);
  const int rc = compress2(out.data(), &n, static_cast<const Bytef*>(data), bytes, level);
  SATCLIP_CHECK(rc == Z_OK, cat("zlib compress2 failed (", rc, ")"), "");
  out.resize(n);
  return out;
}

std::vector<uint8_t> encode_tile(const Compression& c, const uint16_t* pixels, size_t bytes) {
  if (c.kind == Compression::Kind::kGzip) return deflate_bytes(pixels, bytes, c.level);
  if (c.kind == Compression::Kind::kZstd) return shuffle_zstd(pixels, bytes, c.level);
  return {};
}

namespace {

// Reads or writes tile `i` of a [N, C, H, W] uint16 dataset through HDF5 (used for szip, whose
// chunks HDF5 itself must encode and decode).
herr_t tile_io(hid_t dataset, int64_t i, void* pixels, bool write) {
  H5Handle fspace = h5_space(H5Dget_space(dataset));
  hsize_t dims[4] = {0, 0, 0, 0};
  if (H5Sget_simple_extent_dims(fspace.get(), dims, nullptr) != 4) return -1;
  const hsize_t offset[4] = {hsize_t(i), 0, 0, 0}, count[4] = {1, dims[1], dims[2], dims[3]};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, offset, nullptr, count, nullptr);
  H5Handle mspace = h5_space(H5Screate_simple(4, count, nullptr));
  const herr_t rc = write ? H5Dwrite(dataset, H5T_NATIVE_UINT16, mspace.get(), fspace.get(), H5P_DEFAULT, pixels)
                          : H5Dread(dataset, H5T_NATIVE_UINT16, mspace.get(), fspace.get(), H5P_DEFAULT, pixels);
  H5ErrorsKept errors(rc);
  mspace.reset();
  fspace.reset();
  errors.restore();
  return rc;
}

}  // namespace

// ---------------------------------------------------------------- writer

ShardWriter::ShardWriter(std::string path, int channels, int height, int width,
                         const std::vector<std::string>& bands, Compression compression)
    : path_(std::move(path)), partial_(path_ + ".partial"), c_(channels), h_(height), w_(width),
      compression_(compression) {
  try {
    create(bands);
  } catch (...) {  // no destructor for a throwing constructor: close and remove the partial file
    close();
    std::error_code ec;
    std::filesystem::remove(partial_, ec);
    throw;
  }
}

void ShardWriter::create(const std::vector<std::string>& bands) {
  h5_quiet();
  file_ = h5_file(H5Fcreate(partial_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  H5_CHECK(file_.get(), cat(partial_, ": cannot create the shard"));
  const hsize_t dims[4] = {0, hsize_t(c_), hsize_t(h_), hsize_t(w_)};
  const hsize_t maxdims[4] = {H5S_UNLIMITED, hsize_t(c_), hsize_t(h_), hsize_t(w_)};
  const hsize_t chunk[4] = {1, hsize_t(c_), hsize_t(h_), hsize_t(w_)};
  H5Handle space = h5_space(H5Screate_simple(4, dims, maxdims));
  H5Handle dcpl = h5_untimed_dcpl();
  H5Pset_chunk(dcpl.get(), 4, chunk);
  if (compression_.kind == Compression::Kind::kGzip) H5Pset_deflate(dcpl.get(), compression_.level);
  if (compression_.kind == Compression::Kind::kSzip) {
    unsigned config = 0;
    SATCLIP_CHECK(H5Zfilter_avail(H5Z_FILTER_SZIP) > 0 &&
                      H5Zget_filter_info(H5Z_FILTER_SZIP, &config) >= 0 &&
                      (config & H5Z_FILTER_CONFIG_ENCODE_ENABLED),
                  "this HDF5 library cannot write szip", "use --compression gzip or none");
    H5Pset_szip(dcpl.get(), H5_SZIP_NN_OPTION_MASK, 16);
  }
  if (compression_.kind == Compression::Kind::kZstd) {
    register_zstd_filter();
    const unsigned level = unsigned(compression_.level);
    H5_CHECK(H5Pset_shuffle(dcpl.get()), "setting the shuffle filter");
    H5_CHECK(H5Pset_filter(dcpl.get(), kZstdFilterId, H5Z_FLAG_MANDATORY, 1, &level), "setting the zstd filter");
  }
  images_ = h5_dataset(H5Dcreate2(file_.get(), "images", H5T_STD_U16LE, space.get(), H5P_DEFAULT, dcpl.get(),
                                  H5P_DEFAULT));
  H5_CHECK(images_.get(), cat(partial_, ": cannot create /images"));
  h5_write_string_attr(file_.get(), "format", kShardFormat);
  h5_write_int_attr(file_.get(), "version", kShardVersion);
  std::string joined;
  for (size_t i = 0; i < bands.size(); ++i) joined += (i ? "," : "") + bands[i];
  h5_write_string_attr(file_.get(), "bands", joined);
}

ShardWriter::~ShardWriter() {
  if (finished_) return;
  close();
  std::error_code ec;
  std::filesystem::remove(partial_, ec);
}

herr_t ShardWriter::close() {
  const herr_t closed_set = images_.reset();
  const herr_t closed_file = file_.reset();
  return closed_set < 0 ? closed_set : closed_file;
}

void ShardWriter::append(const uint16_t* pixels, const std::vector<uint8_t>* encoded, double lat,
                         double lon, const std::string& fn) {
  h5_quiet();
  if (count_ == capacity_) {  // grow in steps; finish() trims to the real count
    capacity_ = std::max<int64_t>(64, capacity_ * 2);
    const hsize_t dims[4] = {hsize_t(capacity_), hsize_t(c_), hsize_t(h_), hsize_t(w_)};
    H5_CHECK(H5Dset_extent(images_.get(), dims), cat(partial_, ": cannot extend /images"));
  }
  const hsize_t offset[4] = {hsize_t(count_), 0, 0, 0};
  const size_t bytes = size_t(c_) * h_ * w_ * sizeof(uint16_t);
  if (compression_.kind == Compression::Kind::kSzip) {
    H5_CHECK(tile_io(images_.get(), count_, const_cast<uint16_t*>(pixels), /*write=*/true),
             cat(partial_, ": writing tile ", count_));
  } else if (compression_.kind != Compression::Kind::kNone) {
    std::vector<uint8_t> local;
    if (!encoded) {
      local = encode_tile(compression_, pixels, bytes);
      encoded = &local;
    }
    H5_CHECK(H5Dwrite_chunk(images_.get(), H5P_DEFAULT, 0, offset, encoded->size(), encoded->data()),
             cat(partial_, ": writing tile ", count_));
  } else {
    H5_CHECK(H5Dwrite_chunk(images_.get(), H5P_DEFAULT, 0, offset, bytes, pixels),
             cat(partial_, ": writing tile ", count_));
  }
  lat_.push_back(lat);
  lon_.push_back(lon);
  fn_.push_back(fn);
  ++count_;
}

void ShardWriter::finish() {
  h5_quiet();
  const hsize_t dims[4] = {hsize_t(count_), hsize_t(c_), hsize_t(h_), hsize_t(w_)};
  H5_CHECK(H5Dset_extent(images_.get(), dims), cat(partial_, ": cannot trim /images"));
  h5_write_doubles(file_.get(), "lat", lat_);
  h5_write_doubles(file_.get(), "lon", lon_);
  h5_write_strings(file_.get(), "fn", fn_);
  H5_CHECK(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), cat(partial_, ": flush failed"));
  H5_CHECK(close(), cat(partial_, ": close failed"));
  // On the disk before its name: the manifest, written once every shard is, never lists a shard
  // whose tiles a crash could still lose.
  fsync_path(partial_, /*dir=*/false);
  std::filesystem::rename(partial_, path_);
  finished_ = true;
}

// ---------------------------------------------------------------- reader

namespace {

constexpr size_t kMaxNameBytes = 4096;  // per /fn entry

// Opens /name and checks, before anything is allocated or read, that it is a 1-D dataset of
// `expected` values of the type class `cls` (a hostile file may claim billions of entries).
H5Handle open_column(hid_t file, const char* name, const std::string& path, int64_t expected, H5T_class_t cls) {
  H5Handle ds = h5_dataset(H5Dopen2(file, name, H5P_DEFAULT));
  SATCLIP_CHECK(ds.valid(), cat(path, ": no dataset /", name), "this is not a satclip shard; pack again");
  const H5Handle space = h5_space(H5Dget_space(ds.get()));
  const H5Handle type = h5_type(H5Dget_type(ds.get()));
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  const hssize_t n = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
  const H5T_class_t got = type.valid() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
  if (rank != 1 || n != expected || got != cls) {
    SATCLIP_FAIL(cat(path, ": /", name, " is not a 1-D ", cls == H5T_STRING ? "string" : "float", " dataset of ",
                     expected, " entries (rank ", rank, ", ", n, " entries)"),
                 "the shard is damaged or was not written by satclip-pack; pack again");
  }
  return ds;
}

std::vector<double> read_doubles(hid_t file, const char* name, const std::string& path, int64_t expected) {
  H5Handle ds = open_column(file, name, path, expected, H5T_FLOAT);
  const hssize_t n = expected;
  std::vector<double> v(n > 0 ? n : 0);
  const herr_t rc = n > 0 ? H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) : 0;
  H5ErrorsKept errors(rc);
  ds.reset();
  errors.restore();
  SATCLIP_CHECK(rc >= 0, cat(path, ": cannot read /", name, " (", h5_error_detail(), ")"),
                "the shard is damaged or truncated; pack again");
  return v;
}

std::vector<std::string> read_strings(hid_t file, const char* name, const std::string& path, int64_t expected) {
  H5Handle ds = open_column(file, name, path, expected, H5T_STRING);
  std::string error;
  auto out = h5_read_strings(ds.get(), expected, kMaxNameBytes, error);
  ds.reset();
  SATCLIP_CHECK(error.empty(), cat(path, ": cannot read /", name, ": ", error),
                "the shard is damaged or was not written by satclip-pack; pack again");
  return out;
}

// The filter ids of a dataset's pipeline, in order.
std::vector<int> filter_ids(hid_t dataset) {
  const H5Handle dcpl = h5_plist(H5Dget_create_plist(dataset));
  std::vector<int> ids;
  const int n = H5Pget_nfilters(dcpl.get());
  for (int k = 0; k < n && k < 16; ++k) {
    unsigned flags = 0, config = 0;
    size_t nelmts = 0;
    ids.push_back(int(H5Pget_filter2(dcpl.get(), unsigned(k), &flags, &nelmts, nullptr, 0, nullptr, &config)));
  }
  return ids;
}

std::vector<int> expected_filters(Compression::Kind kind) {
  switch (kind) {
    case Compression::Kind::kNone: return {};
    case Compression::Kind::kGzip: return {H5Z_FILTER_DEFLATE};
    case Compression::Kind::kSzip: return {H5Z_FILTER_SZIP};
    case Compression::Kind::kZstd: return {H5Z_FILTER_SHUFFLE, kZstdFilterId};
  }
  return {};
}

std::string join_ids(const std::vector<int>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += cat(i ? ", " : "", ids[i]);
  return s;
}

}  // namespace

ShardReader::ShardReader(const std::string& path, const Manifest& m, int64_t expected_count)
    : path_(path), compression_(Compression::parse(m.compression)) {
  try {
    open(m, expected_count);
  } catch (...) {  // the destructor does not run for a constructor that throws: close here
    close_handles();
    throw;
  }
}

void ShardReader::open(const Manifest& m, int64_t expected_count) {
  const std::string& path = path_;
  h5_quiet();
  hbool_t threadsafe = 0;
  H5is_library_threadsafe(&threadsafe);
  h5_threadsafe_ = threadsafe != 0;
  const auto hint = "re-run satclip-pack; the shard directory is incomplete or damaged";
  // The descriptor every tile is read through, opened first: a FIFO is refused here (HDF5 would
  // wait on it forever), and the chunks are checked against the size of this very file. HDF5
  // reopens that same file through its /proc/self/fd name, not whatever the path names by now.
  uint64_t file_size = 0;
  fd_ = open_regular_file(path, "a shard", hint, file_size);
  const std::string same_file = reopen_name(fd_, path);
  SATCLIP_CHECK(H5Fis_hdf5(same_file.c_str()) > 0, cat(path, ": not an HDF5 file (or truncated)"), hint);
  file_ = h5_file(H5Fopen(same_file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  SATCLIP_CHECK(file_.valid(), cat(path, ": HDF5 cannot open it (", replace_all(h5_error_detail(), same_file, path), ")"),
                hint);
  // The version first: it is an integer, and version 1 stored its strings in HDF5's global heap,
  // which this reader never touches.
  bool ok = false;
  const int version = h5_read_int_attr(file_.get(), "version", ok);
  const auto foreign = "this HDF5 file was not written by satclip-pack; point data.path at satclip-pack's output";
  SATCLIP_CHECK(ok, cat(path, ": not a satclip shard (no integer attribute 'version')"), foreign);
  SATCLIP_CHECK(version == kShardVersion,
                cat(path, ": shard version ", version, ", this build reads version ", kShardVersion),
                version == 1 ? kUpgradeHint : hint);
  const std::string format = h5_read_string_attr(file_.get(), "format", ok);
  SATCLIP_CHECK(ok && format == kShardFormat,
                cat(path, ": not a satclip shard (attribute 'format' is '", format, "', expected '",
                    kShardFormat, "' as a fixed-length string)"),
                foreign);
  images_ = h5_dataset(H5Dopen2(file_.get(), "images", H5P_DEFAULT));
  SATCLIP_CHECK(images_.valid(), cat(path, ": no dataset /images"), hint);
  const H5Handle type = h5_type(H5Dget_type(images_.get()));
  const bool u16 = H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_size(type.get()) == 2 &&
                   H5Tget_sign(type.get()) == H5T_SGN_NONE;
  SATCLIP_CHECK(u16, cat(path, ": /images is not uint16"), hint);
  const H5Handle space = h5_space(H5Dget_space(images_.get()));
  hsize_t dims[4] = {0, 0, 0, 0};
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank == 4) H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  SATCLIP_CHECK(rank == 4 && dims[1] == hsize_t(m.channels) && dims[2] == hsize_t(m.height) &&
                    dims[3] == hsize_t(m.width),
                cat(path, ": /images has shape [", dims[0], ", ", dims[1], ", ", dims[2], ", ", dims[3],
                    "], the manifest says [N, ", m.channels, ", ", m.height, ", ", m.width, "]"), hint);
  SATCLIP_CHECK(int64_t(dims[0]) == expected_count,
                cat(path, ": holds ", dims[0], " tiles, the manifest says ", expected_count), hint);
  lat_ = read_doubles(file_.get(), "lat", path, expected_count);
  lon_ = read_doubles(file_.get(), "lon", path, expected_count);
  fn_ = read_strings(file_.get(), "fn", path, expected_count);
  SATCLIP_CHECK(int64_t(lat_.size()) == expected_count && int64_t(lon_.size()) == expected_count &&
                    int64_t(fn_.size()) == expected_count,
                cat(path, ": /lat, /lon and /fn do not all hold ", expected_count, " entries"), hint);
  // Filters must match the manifest, and every chunk must lie inside the file.
  SATCLIP_CHECK(filter_ids(images_.get()) == expected_filters(compression_.kind),
                cat(path, ": /images has the filter(s) [", join_ids(filter_ids(images_.get())),
                    "], the manifest says compression '", m.compression, "' (filters [",
                    join_ids(expected_filters(compression_.kind)), "])"), hint);
  tile_bytes_ = size_t(m.channels) * m.height * m.width * sizeof(uint16_t);
  addr_.resize(expected_count);
  size_.resize(expected_count);
  for (int64_t i = 0; i < expected_count; ++i) {
    const hsize_t offset[4] = {hsize_t(i), 0, 0, 0};
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    const herr_t rc = H5Dget_chunk_info_by_coord(images_.get(), offset, &mask, &addr, &size);
    SATCLIP_CHECK(rc >= 0 && addr != HADDR_UNDEF && addr <= file_size &&
                      size <= file_size - addr && mask == 0 &&
                      (compression_.kind != Compression::Kind::kNone || size == tile_bytes_),
                  cat(path, ": tile ", i, " (", i < int64_t(fn_.size()) ? fn_[i] : "?",
                      ") has no valid data chunk (the file is truncated or damaged)"), hint);
    addr_[i] = addr;
    size_[i] = size;
  }
}

ShardReader::~ShardReader() { close_handles(); }

void ShardReader::close_handles() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  images_.reset();
  file_.reset();
}

void ShardReader::read_tile(int64_t i, uint16_t* dst, std::vector<uint8_t>& scratch) const {
  SATCLIP_CHECK(i >= 0 && i < count(), cat(path_, ": tile ", i, " out of range"), "");
  auto pread_all = [&](void* buf, size_t n, uint64_t off) {
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, static_cast<char*>(buf) + done, n - done, off + done);
      SATCLIP_CHECK(r > 0, cat(path_, ": read of tile ", i, " failed"), "the file changed or is damaged");
      done += size_t(r);
    }
  };
  switch (compression_.kind) {
    case Compression::Kind::kNone:
      pread_all(dst, tile_bytes_, addr_[i]);
      return;
    case Compression::Kind::kGzip: {
      scratch.resize(size_[i]);
      pread_all(scratch.data(), size_[i], addr_[i]);
      uLongf out = tile_bytes_;
      const int rc = uncompress(reinterpret_cast<Bytef*>(dst), &out, scratch.data(), size_[i]);
      SATCLIP_CHECK(rc == Z_OK && out == tile_bytes_, cat(path_, ": tile ", i, " does not inflate"),
                    "the shard is damaged; pack again");
      return;
    }
    case Compression::Kind::kZstd: {
      // Compressed bytes in scratch, decoded into this thread's buffer, unshuffled into dst.
      scratch.resize(size_[i]);
      pread_all(scratch.data(), size_[i], addr_[i]);
      std::string error;
      thread_local std::vector<uint8_t> plain;
      SATCLIP_CHECK(unshuffle_zstd(scratch.data(), size_[i], dst, tile_bytes_, plain, error),
                    cat(path_, ": tile ", i, " does not decode (", error, ")"), "the shard is damaged; pack again");
      return;
    }
    case Compression::Kind::kSzip: {
      // H5Dread from several loader threads is safe only in a thread-safe HDF5 build; otherwise
      // every HDF5 call of the process is serialised here.
      static std::mutex h5_lock;
      std::unique_lock<std::mutex> lock(h5_lock, std::defer_lock);
      if (!h5_threadsafe_) lock.lock();
      h5_quiet();
      H5_CHECK(tile_io(images_.get(), i, dst, /*write=*/false), cat(path_, ": reading tile ", i));
      return;
    }
  }
}

}  // namespace satclip::data
