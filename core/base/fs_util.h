// Files: removing and copying trees, opening and reading files from elsewhere without waiting on
// a FIFO or trusting their size, digests, fsync and atomic writes.
//
// The tree helpers replace std::filesystem::remove_all and recursive copy: the pip torch wheel's
// libtorch.so exports its own copy of parts of std::filesystem; programs linking libtorch resolve
// those symbols to it, and its remove_all crashes (a null call). These helpers use POSIX nftw()
// instead. Use them in every target that links torch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace satclip {

// Removes `path` and everything below it; a missing path is not an error. Returns false when
// something could not be removed.
bool remove_tree(const std::string& path);

// Copies the folder `from` (files and subfolders) to `to`, which must not exist yet.
void copy_tree(const std::string& from, const std::string& to);

// Throws satclip::Error unless `path` names a regular file (after links). A reader that opens a
// file by name (HDF5, GDAL, std::ifstream) waits forever on a FIFO and never ends on a device, and
// a folder is not data; so every reader of outside files checks first. The message names the path,
// what it should be (`what`, e.g. "the manifest") and what it is ("a FIFO", "missing"); `hint`
// says how to fix it.
void require_regular_file(const std::string& path, const std::string& what, const std::string& hint);

// Opens `path` for reading without blocking (a FIFO is refused, not waited on), checks on the
// open descriptor that it is a regular file, stores its size in `size` and returns the descriptor,
// which the caller closes. Throws as require_regular_file does. For readers that keep the file
// open: its checks and every later read are of the same file, even if the name is replaced.
int open_regular_file(const std::string& path, const std::string& what, const std::string& hint, uint64_t& size);

// A regular file opened for reading with open_regular_file; the descriptor is closed with it.
class RegularFile {
 public:
  RegularFile(const std::string& path, const std::string& what, const std::string& hint);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  uint64_t size() const { return size_; }  // when it was opened
  // Up to n bytes into buf (EINTR retried); 0 at the end; a read error throws naming the file.
  size_t read_some(char* buf, size_t n);

 private:
  std::string path_, hint_;
  uint64_t size_ = 0;  // set by open_regular_file before fd_ is initialised
  int fd_;
};

// The bytes of `path`, which must be a regular file of at most `max_bytes`: opened without
// blocking (a FIFO is refused, not waited on), its type and size checked on the open descriptor,
// and never more than max_bytes + 1 bytes read (a file that grows meanwhile is refused, too).
// Throws satclip::Error as require_regular_file does, or naming the size and the limit.
std::string read_regular_file(const std::string& path, size_t max_bytes, const std::string& what,
                              const std::string& hint);

// Size and FNV-1a 64 hash of a file's bytes (integrity of checkpoints and caches); throws
// satclip::Error naming the file when it is not a regular file (never waits on a FIFO) or cannot
// be read.
struct FileDigest {
  uint64_t size = 0;
  uint64_t hash = 0;
};
FileDigest file_digest(const std::string& path);

// fsync of a file or (dir = true) a folder; throws satclip::Error naming it on failure.
void fsync_path(const std::string& path, bool dir);

// Writes `bytes` to `path` so that a crash leaves the old file or the whole new one: a temporary
// `.NAME.partial` in the same folder, fsync, rename, fsync of the folder. Throws satclip::Error
// naming the file on failure (the temporary file is removed).
void write_file_atomically(const std::string& path, const std::string& bytes);

// `v` as 16 lower-case hex digits.
std::string hex16(uint64_t v);

}  // namespace satclip
