// Byte shuffle + Zstandard for uint16 tiles, in the layout HDF5 readers know: the dataset's filter
// pipeline is HDF5's built-in shuffle (filter 2) then zstd (filter 32015, the id registered with
// The HDF Group; cd_values[0] = level; each chunk one zstd frame that records its size). h5py
// reads such shards with `import hdf5plugin`, h5dump with Debian's hdf5-filter-plugin.
//
// satclip encodes and decodes the chunks itself (packer worker threads, loader worker threads),
// so it needs no plugin; register_zstd_filter() also makes the filter known to this process's
// HDF5, which must know every filter of a dataset it creates or reads through H5Dread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace satclip::data {

constexpr int kZstdFilterId = 32015;
constexpr int kZstdMaxLevel = 19;

// Shuffles the bytes of `bytes` bytes of 2-byte elements (all low bytes, then all high bytes), then
// compresses them as one zstd frame at `level`, with its content size and checksum.
std::vector<uint8_t> shuffle_zstd(const void* data, size_t bytes, int level);

// The inverse: `src` must be one zstd frame of exactly `bytes` bytes, else it returns false and
// says why in `error`. `scratch` is the caller's buffer (grown to `bytes`).
bool unshuffle_zstd(const uint8_t* src, size_t n, void* dst, size_t bytes, std::vector<uint8_t>& scratch,
                    std::string& error);

// Registers filter 32015 with this process's HDF5 (once; thread-safe).
void register_zstd_filter();

}  // namespace satclip::data
