// Shared by the fuzz targets: each defines LLVMFuzzerTestOneInput over one reader of outside
// bytes. A reader may refuse the input only with satclip::Error (a clean, named error); anything
// else (another exception, a crash, a sanitizer report) is a finding.
//
// Built twice: with clang's libFuzzer + ASan/UBSan (-DSATCLIP_FUZZ=ON, scripts/fuzz.sh), and with
// the normal compiler against replay_main.cpp, which replays the committed corpus and crash
// regressions in ctest on every CI run.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/base/error.h"
#include "core/base/fs_util.h"

namespace satclip::fuzz {

// `data` written to a private file (the readers take paths); removed when done.
class TempFile {
 public:
  TempFile(const uint8_t* data, size_t size, const char* suffix) {
    char tmpl[] = "/tmp/satclip-fuzz-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd < 0) std::abort();
    dir_path_ = tmpl;
    ::close(fd);
    ::unlink(tmpl);
    path_ = dir_path_ + suffix;
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string dir_path_, path_;
};

// A private folder holding `data` as the file `name` (for readers that take a folder); removed,
// with whatever the reader left there, when done.
class TempDir {
 public:
  TempDir(const uint8_t* data, size_t size, const std::string& name) {
    char tmpl[] = "/tmp/satclip-fuzz-dir-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    path_ = tmpl;
    std::FILE* f = std::fopen((path_ + "/" + name).c_str(), "wb");
    if (!f) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  ~TempDir() { satclip::remove_tree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `read`; a satclip::Error is the expected refusal. Other exceptions propagate (a finding).
template <typename F>
void expect_clean(F&& read) {
  try {
    read();
  } catch (const satclip::Error&) {
  }
}

}  // namespace satclip::fuzz
