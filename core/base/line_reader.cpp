#include "core/base/line_reader.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/base/error.h"
#include "core/base/fs_util.h"

namespace satclip {

LineReader::LineReader(std::string path, size_t max_line, const std::string& what, std::string hint)
    : path_(std::move(path)), hint_(std::move(hint)), max_line_(max_line) {
  require_regular_file(path_, what, hint_);
  in_.open(path_, std::ios::binary);
  SATCLIP_CHECK(in_.is_open(), cat(path_, ": cannot open ", what, " (", std::strerror(errno), ")"), hint_);
}

bool LineReader::next(std::string& line) {
  line.clear();
  std::streambuf* buf = in_.rdbuf();
  int c = buf->sbumpc();
  if (c == std::char_traits<char>::eof()) return false;
  for (; c != std::char_traits<char>::eof() && c != '\n'; c = buf->sbumpc()) {
    SATCLIP_CHECK(line.size() < max_line_,
                  cat(path_, ":", number_ + 1, ": line longer than ", max_line_, " bytes (no newline in it)"),
                  hint_);
    line.push_back(char(c));
  }
  ++number_;
  return true;
}

}  // namespace satclip
