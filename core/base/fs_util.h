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
#include <functional>
#include <string>

namespace satclip {

// Removes `path` and everything below it; a missing path is not an error. Returns false when
// something could not be removed.
bool remove_tree(const std::string& path);

// Copies the folder `from` (files and subfolders) to `to`, which must not exist yet.
void copy_tree(const std::string& from, const std::string& to);

// Opens `path` for reading without blocking (a FIFO is refused, not waited on), checks on the
// open descriptor that it is a regular file, stores its size in `size` and returns the descriptor,
// which the caller closes. For readers that keep the file open: its checks and every later read
// are of the same file, even if the name is replaced.
//
// Every reader of a file named by a user or a manifest opens it this way first, because a reader
// that opens by name (HDF5, GDAL, std::ifstream) waits forever on a FIFO, never ends on a device,
// and a folder is not data. Throws satclip::Error naming the path, what it should be (`what`, e.g.
// "the manifest") and what it is ("a FIFO (named pipe)", "No such file or directory"); `hint`
// says how to fix it.
int open_regular_file(const std::string& path, const std::string& what, const std::string& hint, uint64_t& size);

// A name that opens the very file `fd` refers to, for libraries that take only a name (HDF5, GDAL):
// its /proc/self/fd link, which reopens the file that was checked even when `path` has been
// replaced since (by another file, or by a FIFO such a library would wait on forever). `path`
// itself where /proc is not mounted.
std::string reopen_name(int fd, const std::string& path);

// A regular file opened for reading with open_regular_file; the descriptor is closed with it.
class RegularFile {
 public:
  RegularFile(const std::string& path, const std::string& what, const std::string& hint);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }  // when it was opened
  // Up to n bytes into buf (EINTR retried); 0 at the end; a read error throws naming the file.
  size_t read_some(char* buf, size_t n);
  // Up to n bytes from offset `pos` (fewer only at the end); does not move read_some's position.
  size_t read_at(uint64_t pos, char* buf, size_t n) const;
  // See reopen_name(): for handing this very file to a library that opens by name.
  std::string reopen_name() const { return satclip::reopen_name(fd_, path_); }

 private:
  std::string path_, hint_;
  uint64_t size_ = 0;  // set by open_regular_file before fd_ is initialised
  int fd_;
};

// The bytes of `path`, which must be a regular file of at most `max_bytes`: opened without
// blocking (a FIFO is refused, not waited on), its type and size checked on the open descriptor,
// and never more than max_bytes + 1 bytes read (a file that grows meanwhile is refused, too).
// Throws satclip::Error as open_regular_file does, or naming the size and the limit.
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

// Throws satclip::Error naming `path` unless the folder it would be written in exists, is a folder
// and is writable: the programs call it before their work, so that a mistyped output path costs
// seconds, not the run.
void check_output_folder(const std::string& path);

// The same for a folder a program writes its files into, creating it and its parents when missing:
// `dir` is a writable folder, or the nearest of its ancestors that exists is.
void check_output_dir(const std::string& dir);

// Replaces `path` so that a crash leaves the old file or the whole new one. After
// check_output_folder, `write` is called with a temporary path `.NAME.partial` in the same folder
// and must create the complete file there (throwing on failure); then that file is fsync'ed and
// renamed to `path`, and the folder fsync'ed. On any failure the temporary file is removed, `path`
// is left as it was, and satclip::Error names the file (a `write` that throws something else is
// reported with its what() and the temporary path).
void replace_file(const std::string& path, const std::function<void(const std::string& tmp)>& write);

// replace_file with a writer of `bytes`.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Whether `a` and `b` both exist and are the same file (through links, hard or symbolic).
bool same_file(const std::string& a, const std::string& b);

// `v` as 16 lower-case hex digits.
std::string hex16(uint64_t v);

}  // namespace satclip
