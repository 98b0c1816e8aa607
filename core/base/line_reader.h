// Line-by-line reading of a text file from elsewhere (the S2-100k index, coordinate CSVs).
//
// std::getline grows its string until the line ends: a file that is one endless line (a sparse
// file reads as zeros without a newline) would make it allocate the whole file, or be killed for
// memory. LineReader stops at `max_line` bytes with an error naming the file and the line, and
// reads only a regular file, through the descriptor it checked (fs_util.h's open_regular_file: a
// FIFO would wait forever, and a name replaced after the check changes nothing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/fs_util.h"

namespace satclip {

class LineReader {
 public:
  // Throws satclip::Error naming `path` and `what` (e.g. "the index") when it is not a regular
  // file or cannot be opened; `hint` comes with every error.
  LineReader(std::string path, size_t max_line, const std::string& what, std::string hint);

  // The next line, without its '\n' (a '\r' before it is kept), into `line`; false at the end of
  // the file. A last line without '\n' still counts. The first line loses a UTF-8 byte-order mark
  // (spreadsheets write one before the header). Throws satclip::Error "PATH:N: line longer than
  // MAX bytes" when it is.
  bool next(std::string& line);

  // The number of the line `next` returned last, from 1 (0 before the first).
  int64_t number() const { return number_; }

 private:
  std::string path_, hint_;
  size_t max_line_;
  RegularFile file_;
  std::vector<char> buffer_;  // bytes read from file_, of which [pos_, end_) are not yet returned
  size_t pos_ = 0, end_ = 0;
  int64_t number_ = 0;

  // The next byte, or -1 at the end of the file; a read error throws naming the file.
  int get();
};

}  // namespace satclip
