#include "core/base/line_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/base/error.h"
#include "core/base/fs_util.h"

namespace satclip {

LineReader::LineReader(std::string path, size_t max_line, const std::string& what, std::string hint)
    : path_(std::move(path)), hint_(std::move(hint)), max_line_(max_line), buffer_(size_t{1} << 16) {
  uint64_t size = 0;
  fd_ = open_regular_file(path_, what, hint_, size);
}

LineReader::~LineReader() { ::close(fd_); }

int LineReader::get() {
  if (pos_ == end_) {
    ssize_t got;
    do {
      got = ::read(fd_, buffer_.data(), buffer_.size());
    } while (got < 0 && errno == EINTR);
    SATCLIP_CHECK(got >= 0, cat(path_, ": read error after line ", number_, " (", std::strerror(errno), ")"), hint_);
    if (got == 0) return -1;
    pos_ = 0;
    end_ = size_t(got);
  }
  return static_cast<unsigned char>(buffer_[pos_++]);
}

bool LineReader::next(std::string& line) {
  line.clear();
  int c = get();
  if (c < 0) return false;
  for (; c >= 0 && c != '\n'; c = get()) {
    SATCLIP_CHECK(line.size() < max_line_,
                  cat(path_, ":", number_ + 1, ": line longer than ", max_line_, " bytes (no newline in it)"),
                  hint_);
    line.push_back(char(c));
  }
  ++number_;
  return true;
}

}  // namespace satclip
