// read_regular_file and require_regular_file (core/base/fs_util.h): what every reader of outside
// files relies on to refuse, at once and with the file's name, what would hang or exhaust it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/base/error.h"
#include "core/base/fs_util.h"

namespace {

using satclip::read_regular_file;
using satclip::require_regular_file;

// A fresh folder under the test's working directory, removed afterwards.
struct Scratch {
  std::string dir;
  Scratch() {
    char tmpl[] = "files-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Scratch() { satclip::remove_tree(dir); }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string path = dir + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return path;
  }
};

// The message of the satclip::Error that `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const satclip::Error& e) {
    return e.message();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(RegularFiles, AFileIsReadWholeUpToItsLimit) {
  Scratch s;
  const std::string path = s.write("recipe.yaml", "data:\n  path: synthetic\n");
  EXPECT_EQ(read_regular_file(path, 1 << 20, "the recipe file", ""), "data:\n  path: synthetic\n");
  EXPECT_EQ(read_regular_file(path, 24, "the recipe file", ""), "data:\n  path: synthetic\n");  // exactly 24
  const std::string m = error_of([&] { read_regular_file(path, 23, "the recipe file", ""); });
  EXPECT_TRUE(has(m, path) && has(m, "24 bytes") && has(m, "more than the 23 bytes the recipe file may have")) << m;
  EXPECT_EQ(read_regular_file(s.write("empty", ""), 0, "x", ""), "");
  EXPECT_NO_THROW(require_regular_file(path, "the recipe file", ""));
}

TEST(RegularFiles, AFileWhoseSizeSaysNothingIsStillCappedWhileRead) {
  // /proc files report size 0 and hold more: the reader must not trust fstat's size alone.
  const std::string status = read_regular_file("/proc/self/status", 1 << 20, "a status file", "");
  EXPECT_TRUE(has(status, "Name:")) << status.substr(0, 200);
  const std::string m = error_of([] { read_regular_file("/proc/self/status", 16, "a status file", ""); });
  EXPECT_TRUE(has(m, "/proc/self/status") && has(m, "more than the 16 bytes")) << m;
}

TEST(RegularFiles, AFifoIsRefusedAtOnceNotWaitedOn) {
  // Nothing ever writes to this FIFO: a reader that opened it by name would wait forever (the
  // test's ctest TIMEOUT would end it).
  Scratch s;
  const std::string fifo = s.dir + "/manifest.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string read = error_of([&] { read_regular_file(fifo, 1 << 20, "the manifest", ""); });
  EXPECT_EQ(read, fifo + ": a FIFO (named pipe), expected the manifest as a regular file");
  const std::string req = error_of([&] { require_regular_file(fifo, "a shard", ""); });
  EXPECT_EQ(req, fifo + ": a FIFO (named pipe), expected a shard as a regular file");
}

TEST(RegularFiles, FoldersDevicesAndMissingFilesAreRefusedByName) {
  Scratch s;
  EXPECT_EQ(error_of([&] { read_regular_file(s.dir, 100, "the recipe file", ""); }),
            s.dir + ": a folder, expected the recipe file as a regular file");
  EXPECT_EQ(error_of([] { read_regular_file("/dev/zero", 100, "the recipe file", ""); }),
            "/dev/zero: a character device, expected the recipe file as a regular file");
  EXPECT_EQ(error_of([] { require_regular_file("/dev/null", "a GeoTIFF", ""); }),
            "/dev/null: a character device, expected a GeoTIFF as a regular file");
  const std::string missing = s.dir + "/nope.csv";
  EXPECT_EQ(error_of([&] { read_regular_file(missing, 100, "the index", ""); }),
            missing + ": cannot open the index (No such file or directory)");
  EXPECT_EQ(error_of([&] { require_regular_file(missing, "the index", ""); }),
            missing + ": cannot open the index (No such file or directory)");
  // A link is followed: to a regular file it is read, to a FIFO it is refused.
  s.write("real.csv", "lat,lon\n");
  ASSERT_EQ(::symlink("real.csv", (s.dir + "/link.csv").c_str()), 0);
  EXPECT_EQ(read_regular_file(s.dir + "/link.csv", 100, "the index", ""), "lat,lon\n");
  ASSERT_EQ(::mkfifo((s.dir + "/pipe").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("pipe", (s.dir + "/pipe-link.csv").c_str()), 0);
  EXPECT_TRUE(has(error_of([&] { read_regular_file(s.dir + "/pipe-link.csv", 100, "the index", ""); }), "a FIFO"));
}

TEST(RegularFiles, TheHintComesWithTheError) {
  try {
    require_regular_file("/dev/null", "a shard", "pack it again");
    ADD_FAILURE() << "/dev/null passed as a regular file";
  } catch (const satclip::Error& e) {
    EXPECT_EQ(e.hint(), "pack it again");
  }
}

}  // namespace
