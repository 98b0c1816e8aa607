#include "core/eval/png.h"

#include <zlib.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"

namespace satclip::core {
namespace {

void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put32(out, uint32_t(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put32(out, uint32_t(crc32(0, &out[start], uInt(out.size() - start))));
}

}  // namespace

void write_png(const std::string& path, const RgbImage& img) {
  SATCLIP_CHECK(img.width > 0 && img.height > 0 && img.rgb.size() == size_t(img.width * img.height * 3),
                cat(path, ": an image of ", img.width, " x ", img.height, " with ", img.rgb.size(), " bytes"), "");
  std::vector<uint8_t> raw;  // each row: filter type 0, then the row's bytes
  raw.reserve(size_t(img.height * (img.width * 3 + 1)));
  for (int64_t y = 0; y < img.height; ++y) {
    raw.push_back(0);
    const auto* row = &img.rgb[size_t(y * img.width * 3)];
    raw.insert(raw.end(), row, row + img.width * 3);
  }
  uLongf packed_size = compressBound(uLong(raw.size()));
  std::vector<uint8_t> packed(packed_size);
  SATCLIP_CHECK(compress2(packed.data(), &packed_size, raw.data(), uLong(raw.size()), 6) == Z_OK,
                cat(path, ": zlib failed"), "");
  packed.resize(packed_size);
  std::vector<uint8_t> file = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> header;
  put32(header, uint32_t(img.width));
  put32(header, uint32_t(img.height));
  header.insert(header.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, adaptive filters, no interlace
  chunk(file, "IHDR", header);
  chunk(file, "IDAT", packed);
  chunk(file, "IEND", {});
  write_file_atomically(path, std::string(file.begin(), file.end()));
}

}  // namespace satclip::core
