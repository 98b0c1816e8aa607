// The members of a tar archive, indexed once so that each can be read in place.
//
// S2-100k is published as plain (uncompressed) tar archives. index_tar() walks the 512-byte
// headers once (POSIX ustar with its name prefix, GNU long names 'L', pax extended headers 'x' with
// path= and size=, octal or base-256 sizes), checks every header's checksum and every size against
// the file's length, and lists each regular file's name, data offset and size. Nothing is
// extracted: a member's bytes are read at [offset, offset + size) of the archive.
//
// A damaged archive is not an error: indexing stops at the first header that cannot be trusted,
// keeps what came before it and says why in `problem`. A member whose data runs past the end of
// the file (a download cut short) is listed with `truncated` set and ends the listing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace satclip::data {

struct TarMember {
  std::string name;         // path inside the archive, as stored
  uint64_t offset = 0;      // of the first data byte in the archive
  uint64_t size = 0;        // as the header says
  bool truncated = false;   // the archive ends before offset + size
};

struct TarIndex {
  std::string path;
  uint64_t file_size = 0;
  std::vector<TarMember> members;  // regular files only, in archive order
  std::string problem;             // empty, or why the listing stopped early
};

// Throws satclip::Error only when the archive cannot be opened as a regular file.
TarIndex index_tar(const std::string& path);

}  // namespace satclip::data
