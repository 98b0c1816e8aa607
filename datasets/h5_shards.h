// HDF5 shards of packed S2-100k tiles.
//
// Schema (format "satclip-s2-shards", version 1; readable with h5py):
//   /images  uint16 [N, C, H, W], chunked one tile per chunk, optionally gzip, szip or
//            shuffle + zstd (zstd_filter.h)
//   /lat     float64 [N]           /lon float64 [N]           /fn variable-length strings [N]
//   root attributes: format (string), version (int), bands (comma-separated string)
//
// Reading scales across threads although the serial HDF5 library serialises its calls: at open
// the reader records every tile's chunk address and size, and read_tile() then reads the raw
// chunk with pread() (no HDF5 call, no lock) and, for gzip and zstd, decodes it on the calling
// thread. Only szip goes through H5Dread and so through HDF5's global lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <hdf5.h>

#include "datasets/h5_handle.h"

#include "datasets/manifest.h"

namespace satclip::data {

struct Compression {
  enum class Kind { kNone, kGzip, kSzip, kZstd } kind = Kind::kNone;
  int level = 4;  // gzip level 1..9, zstd level 1..19
  // "none", "gzip", "gzip:L", "szip", "zstd", "zstd:L"; throws satclip::Error otherwise.
  static Compression parse(const std::string& text);
  std::string str() const;
};

constexpr int kDefaultZstdLevel = 3;

// zlib stream of `bytes` bytes (the format of HDF5's deflate filter).
std::vector<uint8_t> deflate_bytes(const void* data, size_t bytes, int level);

// A tile's chunk as stored (gzip: deflate_bytes; zstd: shuffle_zstd); empty for none and szip,
// which the writer stores itself. Called on worker threads.
std::vector<uint8_t> encode_tile(const Compression& compression, const uint16_t* pixels, size_t bytes);

class ShardWriter {
 public:
  // Writes to `path`.partial; finish() renames it to `path`. Destroyed unfinished, it removes the
  // partial file, so an interrupted run never leaves a shard that looks complete.
  ShardWriter(std::string path, int channels, int height, int width,
              const std::vector<std::string>& bands, Compression compression);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Appends one tile of C*H*W pixels. With gzip or zstd, `encoded` may hold the tile already
  // compressed by encode_tile() (done on a worker thread), else it is compressed here.
  void append(const uint16_t* pixels, const std::vector<uint8_t>* encoded, double lat, double lon,
              const std::string& fn);
  int64_t count() const { return count_; }
  void finish();

 private:
  void create(const std::vector<std::string>& bands);
  herr_t close();  // both handles, once; the first failure (< 0) or 0
  std::string path_, partial_;
  int c_, h_, w_;
  Compression compression_;
  H5Handle file_, images_;
  int64_t count_ = 0, capacity_ = 0;
  std::vector<double> lat_, lon_;
  std::vector<std::string> fn_;
  bool finished_ = false;
};

class ShardReader {
 public:
  // Opens and validates `path` against the manifest's tile shape and compression and the
  // expected tile count. Errors name the file and what is wrong.
  ShardReader(const std::string& path, const Manifest& manifest, int64_t expected_count);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  int64_t count() const { return static_cast<int64_t>(lat_.size()); }
  const std::vector<double>& lat() const { return lat_; }
  const std::vector<double>& lon() const { return lon_; }
  const std::vector<std::string>& fn() const { return fn_; }
  const std::string& path() const { return path_; }

  // Reads tile `i` (C*H*W pixels) into `dst`. Thread-safe; `scratch` is the caller's buffer
  // for compressed bytes.
  void read_tile(int64_t i, uint16_t* dst, std::vector<uint8_t>& scratch) const;

 private:
  void open(const Manifest& manifest, int64_t expected_count);
  void close_handles();

  std::string path_;
  Compression compression_;
  bool h5_threadsafe_ = false;  // H5is_library_threadsafe(): else szip reads are serialised
  size_t tile_bytes_ = 0;
  int fd_ = -1;
  H5Handle file_, images_;
  std::vector<uint64_t> addr_, size_;
  std::vector<double> lat_, lon_;
  std::vector<std::string> fn_;
};

}  // namespace satclip::data
