#include "core/base/line_reader.h"

#include <utility>

#include "core/base/error.h"

namespace satclip {

LineReader::LineReader(std::string path, size_t max_line, const std::string& what, std::string hint)
    : path_(std::move(path)), hint_(std::move(hint)), max_line_(max_line), file_(path_, what, hint_),
      buffer_(size_t{1} << 16) {}

int LineReader::get() {
  if (pos_ == end_) {
    end_ = file_.read_some(buffer_.data(), buffer_.size());
    pos_ = 0;
    if (end_ == 0) return -1;
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
  if (number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  return true;
}

}  // namespace satclip
