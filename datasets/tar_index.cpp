#include "datasets/tar_index.h"

#include <array>
#include <cstring>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/text.h"

namespace satclip::data {
namespace {

constexpr uint64_t kBlock = 512;
constexpr uint64_t kMaxLongName = 64 * 1024;      // a GNU 'L' name or a pax header larger than
constexpr uint64_t kMaxPaxHeader = 1024 * 1024;   // these is not a tile archive's

using Header = std::array<unsigned char, kBlock>;

// A NUL- or length-terminated header field.
std::string field(const Header& h, size_t at, size_t len) {
  const char* p = reinterpret_cast<const char*>(h.data() + at);
  return std::string(p, strnlen(p, len));
}

// A numeric field: octal digits (space or NUL padded), or GNU base-256 when the high bit is set.
bool number(const Header& h, size_t at, size_t len, uint64_t& out) {
  out = 0;
  if (h[at] & 0x80) {  // base-256: the rest of the first byte and the following bytes, big-endian
    if (h[at] & 0x40) return false;  // negative
    uint64_t v = h[at] & 0x3f;
    for (size_t i = 1; i < len; ++i) {
      if (v >> 56) return false;
      v = (v << 8) | h[at + i];
    }
    out = v;
    return true;
  }
  size_t i = 0;
  while (i < len && h[at + i] == ' ') ++i;
  bool any = false;
  for (; i < len && h[at + i] >= '0' && h[at + i] <= '7'; ++i) {
    if (out >> 60) return false;
    out = out * 8 + uint64_t(h[at + i] - '0');
    any = true;
  }
  for (; i < len; ++i) if (h[at + i] != ' ' && h[at + i] != '\0') return false;
  return any;
}

bool all_zero(const Header& h) {
  for (unsigned char c : h) if (c) return false;
  return true;
}

// The header checksum: the sum of its bytes with the checksum field counted as spaces.
bool checksum_ok(const Header& h) {
  uint64_t stored = 0;
  if (!number(h, 148, 8, stored)) return false;
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum == stored;
}

// pax records "LEN key=value\n": the path and size overrides; false when malformed.
bool parse_pax(const std::string& text, std::string& path, uint64_t& size, bool& has_size) {
  size_t at = 0;
  while (at < text.size()) {
    if (text[at] == '\0') break;  // padding
    const size_t space = text.find(' ', at);
    if (space == std::string::npos) return false;
    int64_t len = 0;
    if (!parse_integer(text.substr(at, space - at), len) || len <= int64_t(space - at) ||
        uint64_t(len) > text.size() - at || text[at + size_t(len) - 1] != '\n') {
      return false;
    }
    const std::string record = text.substr(space + 1, at + size_t(len) - 1 - (space + 1));
    const size_t eq = record.find('=');
    if (eq == std::string::npos) return false;
    const std::string key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") path = value;
    if (key == "size") {
      int64_t v = 0;
      if (!parse_integer(value, v) || v < 0) return false;
      size = uint64_t(v);
      has_size = true;
    }
    at += size_t(len);
  }
  return true;
}

uint64_t padded(uint64_t size) { return (size + kBlock - 1) / kBlock * kBlock; }

}  // namespace

TarIndex index_tar(const std::string& path) {
  const RegularFile file(path, "a tar archive", "--images must name .tar archives or a folder holding them");
  TarIndex index;
  index.path = path;
  index.file_size = file.size();
  const uint64_t end = file.size();
  std::string long_name, pax_path;  // from a preceding 'L' or 'x' header, for the next member only
  uint64_t pax_size = 0;
  bool pax_has_size = false;
  uint64_t pos = 0;
  auto stop = [&](const std::string& why) { index.problem = cat(why, " at byte ", pos); };
  while (true) {
    if (pos + kBlock > end) {
      if (pos < end || index.members.empty()) stop("the archive ends inside a header");
      else stop("the archive ends without its end-of-archive blocks");
      break;
    }
    Header h{};
    if (file.read_at(pos, reinterpret_cast<char*>(h.data()), kBlock) != kBlock) {
      stop("short read");
      break;
    }
    if (all_zero(h)) break;  // end of archive
    uint64_t size = 0;
    if (!checksum_ok(h) || !number(h, 124, 12, size)) {
      stop("a header with a bad checksum or size (not a tar archive, or damaged)");
      break;
    }
    const char type = static_cast<char>(h[156]);
    const uint64_t data = pos + kBlock;
    if ((type == 'L' || type == 'x' || type == 'g')) {
      const uint64_t limit = type == 'L' ? kMaxLongName : kMaxPaxHeader;
      if (size > limit || data + size > end) {
        stop(cat("an extended header of ", size, " bytes (at most ", limit, " fit in the archive's rules)"));
        break;
      }
      std::string text(size_t(size), '\0');
      if (file.read_at(data, text.data(), size_t(size)) != size) {
        stop("short read");
        break;
      }
      if (type == 'L') {
        long_name = std::string(text.c_str());
      } else if (type == 'x' && !parse_pax(text, pax_path, pax_size, pax_has_size)) {
        stop("a malformed pax extended header");
        break;
      }
      pos = data + padded(size);
      continue;
    }
    if (pax_has_size) size = pax_size;
    std::string name = field(h, 0, 100);
    if (std::memcmp(h.data() + 257, "ustar", 5) == 0) {
      const std::string prefix = field(h, 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (!long_name.empty()) name = long_name;
    if (!pax_path.empty()) name = pax_path;
    long_name.clear();
    pax_path.clear();
    pax_has_size = false;
    if (type == '0' || type == '\0' || type == '7') {
      TarMember m{name, data, size, data + size > end};
      index.members.push_back(m);
      if (m.truncated) {
        stop(cat(name, " needs ", size, " bytes, the archive holds ", end - data));
        break;
      }
    }
    // Directories, links and other entries carry no tile; a size on them still moves us on.
    if (type == '1' || type == '2' || type == '5') size = 0;
    if (data + padded(size) > end) {
      stop("the archive ends early (no end-of-archive blocks)");
      break;
    }
    pos = data + padded(size);
  }
  return index;
}

}  // namespace satclip::data
