#include "core/train/runlog/tensorboard.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/base/error.h"
#include "core/base/fs_util.h"

namespace satclip::core {
namespace {

std::array<uint32_t, 256> crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // Castagnoli, reflected
    t[i] = c;
  }
  return t;
}

uint32_t masked_crc(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

// Protocol buffer wire format: the few pieces an Event needs.
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char(uint8_t(v) | 0x80);
    v >>= 7;
  }
  out += char(uint8_t(v));
}
void key(std::string& out, int field, int wire) { varint(out, uint64_t(field) << 3 | uint64_t(wire)); }
void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}
template <typename T>
void fixed_field(std::string& out, int field, T value) {
  key(out, field, sizeof(T) == 8 ? 1 : 5);
  char b[sizeof(T)];
  std::memcpy(b, &value, sizeof(T));  // little-endian hosts (x86-64, aarch64)
  out.append(b, sizeof(T));
}

std::string event(int64_t step, const std::string* summary, const std::string* file_version) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string e;
  fixed_field(e, 1, now);
  key(e, 2, 0);
  varint(e, uint64_t(step));
  if (file_version) bytes_field(e, 3, *file_version);
  if (summary) bytes_field(e, 5, *summary);
  return e;
}

// Reads a varint at p (< end); false when it runs past the end or over 10 bytes.
bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    const uint8_t b = *p++;
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// The step of a serialised Event (0 when absent); false when it does not parse.
bool event_step(const std::string& e, int64_t& step) {
  step = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(e.data());
  const auto* end = p + e.size();
  while (p < end) {
    uint64_t k = 0, v = 0;
    if (!read_varint(p, end, k)) return false;
    switch (k & 7) {
      case 0:
        if (!read_varint(p, end, v)) return false;
        if ((k >> 3) == 2) step = int64_t(v);
        break;
      case 1:
        if (end - p < 8) return false;
        p += 8;
        break;
      case 2:
        if (!read_varint(p, end, v) || v > uint64_t(end - p)) return false;
        p += v;
        break;
      case 5:
        if (end - p < 4) return false;
        p += 4;
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  static const auto table = crc_table();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

EventWriter::EventWriter(const std::string& dir, bool append) : path_((std::filesystem::path(dir) / kEventsFile).string()) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  SATCLIP_CHECK(!ec, cat(dir, ": cannot create the TensorBoard folder: ", ec.message()),
                "make output.dir writable, or set train.tensorboard: false");
  const bool fresh = !append || ::access(path_.c_str(), F_OK) != 0;
  file_ = std::fopen(path_.c_str(), fresh ? "wb" : "ab");
  SATCLIP_CHECK(file_ != nullptr, cat(path_, ": cannot open for writing"), "make output.dir writable, or set train.tensorboard: false");
  if (fresh) {
    const std::string version = "brain.Event:2";
    record(event(0, nullptr, &version));
  }
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::record(const std::string& e) {
  char header[12];
  const uint64_t n = e.size();
  std::memcpy(header, &n, 8);
  const uint32_t hc = masked_crc(header, 8), dc = masked_crc(e.data(), e.size());
  std::memcpy(header + 8, &hc, 4);
  char footer[4];
  std::memcpy(footer, &dc, 4);
  // One write per record and a flush: a killed run leaves whole records and at most one torn tail.
  const std::string r = std::string(header, 12) + e + std::string(footer, 4);
  std::fwrite(r.data(), 1, r.size(), file_);
  std::fflush(file_);
}

void EventWriter::scalar(const std::string& tag, int64_t step, double value) {
  std::string v;
  bytes_field(v, 1, tag);
  fixed_field(v, 2, float(value));
  std::string summary;
  bytes_field(summary, 1, v);
  record(event(step, &summary, nullptr));
}

void EventWriter::text(const std::string& tag, int64_t step, const std::string& text) {
  std::string tensor;
  key(tensor, 1, 0);
  varint(tensor, 7);  // DT_STRING
  bytes_field(tensor, 2, "");  // a scalar: a shape without dimensions
  bytes_field(tensor, 8, text);
  std::string plugin, metadata, v, summary;
  bytes_field(plugin, 1, "text");
  bytes_field(metadata, 1, plugin);
  bytes_field(v, 1, tag);
  bytes_field(v, 8, tensor);
  bytes_field(v, 9, metadata);
  bytes_field(summary, 1, v);
  record(event(step, &summary, nullptr));
}

int64_t trim_events(const std::string& path, int64_t max_step) {
  if (::access(path.c_str(), F_OK) != 0) return 0;
  const std::string bytes = read_regular_file(path, size_t{1} << 30, "the TensorBoard events file",
                                              "move output.dir/tensorboard away (a resumed run starts a new file)");
  std::string keep;
  int64_t dropped = 0;
  bool damaged = false;
  for (size_t at = 0; at < bytes.size();) {
    const size_t left = bytes.size() - at;
    uint64_t n = 0;
    uint32_t hc = 0, dc = 0;
    if (left >= 12) {
      std::memcpy(&n, bytes.data() + at, 8);
      std::memcpy(&hc, bytes.data() + at + 8, 4);
    }
    if (left < 12 || hc != masked_crc(bytes.data() + at, 8) || n > left - 12 || left - 12 - n < 4) {
      damaged = true;  // a torn tail: whatever follows cannot be framed
      break;
    }
    const std::string e = bytes.substr(at + 12, n);
    std::memcpy(&dc, bytes.data() + at + 12 + n, 4);
    int64_t step = 0;
    if (dc != masked_crc(e.data(), e.size()) || !event_step(e, step)) {
      damaged = true;
      break;
    }
    if (step <= max_step) {
      keep.append(bytes, at, 12 + n + 4);
    } else {
      ++dropped;
    }
    at += 12 + n + 4;
  }
  if (dropped > 0 || damaged) write_file_atomically(path, keep);  // a crash leaves the old or the trimmed file
  return damaged ? -1 : dropped;
}

}  // namespace satclip::core
