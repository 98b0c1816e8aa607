// Writing embeddings: CSV (lat,lon,e0..e{D-1}, one row per input) or HDF5 (/lat, /lon float64
// [N], /embeddings float32 [N, D]). Both go to a temporary name renamed into place.
#pragma once

#include <string>

#include <ATen/core/Tensor.h>

namespace satclip::cli {

enum class EmbedFormat { kCsv, kHdf5 };

// From the file name: .csv, or .h5 / .hdf5; anything else is an error naming the file.
EmbedFormat embed_format_of(const std::string& path);

// `lat_lon` [N, 2] float64, `embeddings` [N, D] float32 (CPU).
void write_embeddings(const std::string& path, EmbedFormat format, const at::Tensor& lat_lon,
                      const at::Tensor& embeddings);

}  // namespace satclip::cli
