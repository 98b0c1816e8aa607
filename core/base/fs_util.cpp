#include "core/base/fs_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/base/hash.h"

namespace satclip {

bool remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return true;
  const int rc = ::nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p) == 0 ? 0 : -1; },
      /*nopenfd=*/16, FTW_DEPTH | FTW_PHYS);
  return rc == 0;
}

namespace {

thread_local std::string g_from, g_to;  // nftw's callback takes no user data

int copy_entry(const char* p, const struct stat* st, int type, struct FTW*) {
  const std::string rel = std::string(p).substr(g_from.size());
  const std::string dst = g_to + rel;
  if (type == FTW_D) return ::mkdir(dst.c_str(), st->st_mode & 07777) == 0 ? 0 : -1;
  if (type != FTW_F) return 0;
  std::ifstream in(p, std::ios::binary);
  std::ofstream out(dst, std::ios::binary);
  out << in.rdbuf();
  return out.good() ? 0 : -1;
}

}  // namespace

void copy_tree(const std::string& from, const std::string& to) {
  g_from = from;
  g_to = to;
  SATCLIP_CHECK(::nftw(from.c_str(), copy_entry, 16, FTW_PHYS) == 0,
                cat("copying ", from, " to ", to, " failed"), "check that the target does not exist yet");
}

namespace {

// What a non-regular file is, for messages.
const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

[[noreturn]] void fail_unopenable(const std::string& path, const std::string& what, int err, const std::string& hint) {
  SATCLIP_FAIL(cat(path, ": cannot open ", what, " (", std::strerror(err), ")"), hint);
}

void check_kind(const std::string& path, const struct stat& st, const std::string& what, const std::string& hint) {
  SATCLIP_CHECK(S_ISREG(st.st_mode), cat(path, ": ", file_kind(st.st_mode), ", expected ", what, " as a regular file"),
                hint);
}

}  // namespace

int open_regular_file(const std::string& path, const std::string& what, const std::string& hint, uint64_t& size) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. It changes nothing
  // for a regular file, so the descriptor is kept as it is.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail_unopenable(path, what, errno, hint);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail_unopenable(path, what, err, hint);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    check_kind(path, st, what, hint);
  }
  size = uint64_t(st.st_size);
  return fd;
}

std::string reopen_name(int fd, const std::string& path) {
  const std::string name = "/proc/self/fd/" + std::to_string(fd);
  struct stat linked {}, opened {};
  const bool same = ::stat(name.c_str(), &linked) == 0 && ::fstat(fd, &opened) == 0 &&
                    linked.st_dev == opened.st_dev && linked.st_ino == opened.st_ino;
  return same ? name : path;
}

RegularFile::RegularFile(const std::string& path, const std::string& what, const std::string& hint)
    : path_(path), hint_(hint), fd_(open_regular_file(path, what, hint, size_)) {}

RegularFile::~RegularFile() { ::close(fd_); }

size_t RegularFile::read_some(char* buf, size_t n) {
  for (;;) {
    const ssize_t got = ::read(fd_, buf, n);
    if (got < 0 && errno == EINTR) continue;
    SATCLIP_CHECK(got >= 0, cat(path_, ": read error (", std::strerror(errno), ")"), hint_);
    return size_t(got);
  }
}

size_t RegularFile::read_at(uint64_t pos, char* buf, size_t n) const {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd_, buf + got, n - got, off_t(pos + got));
    if (r < 0 && errno == EINTR) continue;
    SATCLIP_CHECK(r >= 0, cat(path_, ": read error at byte ", pos + got, " (", std::strerror(errno), ")"), hint_);
    if (r == 0) break;
    got += size_t(r);
  }
  return got;
}

std::string read_regular_file(const std::string& path, size_t max_bytes, const std::string& what,
                              const std::string& hint) {
  RegularFile file(path, what, hint);
  const auto too_large = [&](uint64_t size) {
    SATCLIP_FAIL(cat(path, ": ", size, " bytes, more than the ", max_bytes, " bytes ", what, " may have"), hint);
  };
  if (file.size() > max_bytes) too_large(file.size());
  std::string bytes(size_t(file.size()) + 1, '\0');  // one more: a file that grew since it was opened
  size_t got = 0;
  for (;;) {
    if (got == bytes.size()) {
      if (bytes.size() > max_bytes) too_large(bytes.size());
      bytes.resize(std::min(max_bytes + 1, bytes.size() * 2));
    }
    const size_t n = file.read_some(bytes.data() + got, bytes.size() - got);
    if (n == 0) break;
    got += n;
  }
  bytes.resize(got);
  return bytes;
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void fsync_path(const std::string& path, bool dir) {
  const int fd = ::open(path.c_str(), dir ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  SATCLIP_CHECK(fd >= 0, cat(path, ": cannot open to sync it: ", std::strerror(errno)), "check the file system");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  SATCLIP_CHECK(rc == 0, cat(path, ": fsync failed: ", std::strerror(err)), "check free space on that file system");
}

namespace {

// The folder a file `path` is in and its name there.
std::pair<std::string, std::string> split_path(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// Throws naming `path` (what the user gave) unless `folder`, which exists (`st`), is a folder that
// can be written in.
void require_writable_folder(const std::string& path, const std::string& folder, const struct stat& st) {
  SATCLIP_CHECK(S_ISDIR(st.st_mode), cat(path, ": ", folder, " is not a folder"), "write somewhere else");
  SATCLIP_CHECK(::access(folder.c_str(), W_OK | X_OK) == 0, cat(path, ": the folder ", folder, " is not writable"),
                "fix its permissions, or write somewhere else");
}

}  // namespace

void check_output_folder(const std::string& path) {
  const auto [folder, name] = split_path(path);
  SATCLIP_CHECK(!name.empty(), cat(path, ": names a folder, not a file"), "give a file name");
  struct stat st {};
  const std::string hint = cat("create it first (mkdir -p ", folder, "), or write somewhere else");
  SATCLIP_CHECK(::stat(folder.c_str(), &st) == 0, cat(path, ": the folder ", folder, " does not exist"), hint);
  require_writable_folder(path, folder, st);
}

void check_output_dir(const std::string& dir) {
  std::string p = dir;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  for (;;) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return require_writable_folder(dir, p, st);
    if (p == "/" || p == ".") return;  // stat failed on these: nothing more to check from here
    p = split_path(p).first;
  }
}

void replace_file(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  check_output_folder(path);
  const auto [folder, name] = split_path(path);
  const std::string tmp = folder + "/." + name + ".partial";
  try {
    try {
      write(tmp);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      SATCLIP_FAIL(cat(tmp, ": write failed: ", e.what()), "check free space on that file system");
    }
    fsync_path(tmp, false);
    SATCLIP_CHECK(::rename(tmp.c_str(), path.c_str()) == 0,
                  cat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)),
                  "the path must be a writable file name, not a folder");
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_path(folder, true);
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  replace_file(path, [&bytes](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    SATCLIP_CHECK(f != nullptr, cat(tmp, ": cannot create: ", std::strerror(errno)), "check that the folder is writable");
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    const int err = errno;
    const bool closed = std::fclose(f) == 0;
    SATCLIP_CHECK(ok && closed, cat(tmp, ": write failed: ", std::strerror(ok ? errno : err)),
                  "check free space on that file system");
  });
}

FileDigest file_digest(const std::string& path) {
  RegularFile file(path, "a file to hash", "");
  FileDigest d;
  Fnv1a hash;
  std::vector<char> buf(1 << 20);
  for (size_t n; (n = file.read_some(buf.data(), buf.size())) > 0;) {
    d.size += uint64_t(n);
    hash.update(buf.data(), n);
  }
  d.hash = hash.value();
  return d;
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace satclip
