#include "datasets/zstd_filter.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include <hdf5.h>
#include <zstd.h>

#include "core/base/error.h"
#include "core/base/text.h"
#include "datasets/h5_util.h"

namespace satclip::data {
namespace {

// HDF5's shuffle for 2-byte elements: byte j of element i goes to j * n + i (n elements; an odd
// trailing byte stays where it is).
void shuffle2(const uint8_t* in, uint8_t* out, size_t bytes) {
  const size_t n = bytes / 2;
  for (size_t i = 0; i < n; ++i) {
    out[i] = in[2 * i];
    out[n + i] = in[2 * i + 1];
  }
  if (bytes % 2) out[bytes - 1] = in[bytes - 1];
}

void unshuffle2(const uint8_t* in, uint8_t* out, size_t bytes) {
  const size_t n = bytes / 2;
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = in[i];
    out[2 * i + 1] = in[n + i];
  }
  if (bytes % 2) out[bytes - 1] = in[bytes - 1];
}

// The filter as HDF5 calls it: zstd alone (the shuffle is HDF5's own filter before it). Returns
// the new size and swaps *buf for a malloc'ed buffer, or 0 on failure (HDF5's contract).
size_t zstd_h5_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                      size_t* buf_size, void** buf) {
  if (flags & H5Z_FLAG_REVERSE) {
    const unsigned long long size = ZSTD_getFrameContentSize(*buf, nbytes);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 34)) return 0;
    void* out = std::malloc(size_t(size) ? size_t(size) : 1);
    if (!out) return 0;
    const size_t got = ZSTD_decompress(out, size_t(size), *buf, nbytes);
    if (ZSTD_isError(got) || got != size) {
      std::free(out);
      return 0;
    }
    std::free(*buf);
    *buf = out;
    *buf_size = size_t(size);
    return got;
  }
  const int level = cd_nelmts > 0 ? int(cd_values[0]) : 3;
  const size_t bound = ZSTD_compressBound(nbytes);
  void* out = std::malloc(bound);
  if (!out) return 0;
  const size_t n = ZSTD_compress(out, bound, *buf, nbytes, level);
  if (ZSTD_isError(n)) {
    std::free(out);
    return 0;
  }
  std::free(*buf);
  *buf = out;
  *buf_size = bound;
  return n;
}

}  // namespace

std::vector<uint8_t> shuffle_zstd(const void* data, size_t bytes, int level) {
  std::vector<uint8_t> shuffled(bytes);
  shuffle2(static_cast<const uint8_t*>(data), shuffled.data(), bytes);
  std::vector<uint8_t> out(ZSTD_compressBound(bytes));
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  SATCLIP_CHECK(ctx != nullptr, "zstd: out of memory", "");
  // The frame records its size and a checksum of the content, so a damaged chunk is detected
  // when it is read (as zlib's adler32 does for gzip).
  ZSTD_CCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_checksumFlag, 1);
  const size_t n = ZSTD_compress2(ctx.get(), out.data(), out.size(), shuffled.data(), bytes);
  SATCLIP_CHECK(!ZSTD_isError(n), cat("zstd compression failed (", ZSTD_getErrorName(n), ")"), "");
  out.resize(n);
  return out;
}

bool unshuffle_zstd(const uint8_t* src, size_t n, void* dst, size_t bytes, std::vector<uint8_t>& scratch,
                    std::string& error) {
  const unsigned long long size = ZSTD_getFrameContentSize(src, n);
  if (size != bytes) {
    error = size == ZSTD_CONTENTSIZE_ERROR     ? "not a zstd frame"
            : size == ZSTD_CONTENTSIZE_UNKNOWN ? "a zstd frame without its size"
                                               : cat("a zstd frame of ", size, " bytes, expected ", bytes);
    return false;
  }
  scratch.resize(bytes);
  const size_t got = ZSTD_decompress(scratch.data(), bytes, src, n);
  if (ZSTD_isError(got) || got != bytes) {
    error = ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short zstd frame";
    return false;
  }
  unshuffle2(scratch.data(), static_cast<uint8_t*>(dst), bytes);
  return true;
}

void register_zstd_filter() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (H5Zfilter_avail(kZstdFilterId) > 0) return;  // a plugin is already loaded
    static const H5Z_class2_t cls = {H5Z_CLASS_T_VERS, kZstdFilterId, 1, 1, "zstd (satclip)", nullptr, nullptr,
                                     zstd_h5_filter};
    H5_CHECK(H5Zregister(&cls), "registering the zstd filter with HDF5");
  });
}

}  // namespace satclip::data
