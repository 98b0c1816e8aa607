// Fixtures for data tests: a fresh temporary folder, and a small real S2-style dataset written
// with GDAL and packed with the real packer.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "core/base/fs_util.h"

namespace satclip::testing {

// A new empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("satclip-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    satclip::remove_tree(path_.string());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { satclip::remove_tree(path_.string()); }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace satclip::testing
