// A minimal PNG writer (8-bit RGB, no interlacing; zlib for the image data and the CRCs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace satclip::core {

struct RgbImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
  uint8_t* at(int64_t x, int64_t y) { return &rgb[size_t((y * width + x) * 3)]; }
};

// Writes `image` to `path` through a temporary file and a rename; throws satclip::Error naming the
// file on failure.
void write_png(const std::string& path, const RgbImage& image);

}  // namespace satclip::core
