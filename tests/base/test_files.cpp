// read_regular_file, open_regular_file, RegularFile, reopen_name (core/base/fs_util.h) and LineReader (line_reader.h):
// what every reader of outside files relies on to refuse, at once and with the file's name, what
// would hang or exhaust it. And replace_file, which every writer of an output file goes through.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/line_reader.h"

namespace {

using satclip::LineReader;
using satclip::read_regular_file;
using satclip::RegularFile;

// Opens `path` as the readers of HDF5 files, GeoTIFFs and weights do before handing it over.
void open_checked(const std::string& path, const std::string& what, const std::string& hint) {
  const RegularFile file(path, what, hint);
}

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
  EXPECT_NO_THROW(open_checked(path, "the recipe file", ""));
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
  const std::string req = error_of([&] { open_checked(fifo, "a shard", ""); });
  EXPECT_EQ(req, fifo + ": a FIFO (named pipe), expected a shard as a regular file");
}

TEST(RegularFiles, FoldersDevicesAndMissingFilesAreRefusedByName) {
  Scratch s;
  EXPECT_EQ(error_of([&] { read_regular_file(s.dir, 100, "the recipe file", ""); }),
            s.dir + ": a folder, expected the recipe file as a regular file");
  EXPECT_EQ(error_of([] { read_regular_file("/dev/zero", 100, "the recipe file", ""); }),
            "/dev/zero: a character device, expected the recipe file as a regular file");
  EXPECT_EQ(error_of([] { open_checked("/dev/null", "a GeoTIFF", ""); }),
            "/dev/null: a character device, expected a GeoTIFF as a regular file");
  const std::string missing = s.dir + "/nope.csv";
  EXPECT_EQ(error_of([&] { read_regular_file(missing, 100, "the index", ""); }),
            missing + ": cannot open the index (No such file or directory)");
  EXPECT_EQ(error_of([&] { open_checked(missing, "the index", ""); }),
            missing + ": cannot open the index (No such file or directory)");
  // A link is followed: to a regular file it is read, to a FIFO it is refused.
  s.write("real.csv", "lat,lon\n");
  ASSERT_EQ(::symlink("real.csv", (s.dir + "/link.csv").c_str()), 0);
  EXPECT_EQ(read_regular_file(s.dir + "/link.csv", 100, "the index", ""), "lat,lon\n");
  ASSERT_EQ(::mkfifo((s.dir + "/pipe").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("pipe", (s.dir + "/pipe-link.csv").c_str()), 0);
  EXPECT_TRUE(has(error_of([&] { read_regular_file(s.dir + "/pipe-link.csv", 100, "the index", ""); }), "a FIFO"));
}

// How many descriptors this process has open.
size_t open_descriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST(RegularFiles, AnOpenedFileIsTheOneCheckedEvenWhenItsNameIsReplaced) {
  Scratch s;
  const std::string path = s.write("shard.h5", "first file");
  uint64_t size = 0;
  const int fd = satclip::open_regular_file(path, "a shard", "", size);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(size, 10u);
  // Another file renamed over the name (as a re-pack would): the descriptor still reads the first.
  ASSERT_EQ(std::rename(s.write("other", "second, longer file").c_str(), path.c_str()), 0);
  char buf[32] = {};
  EXPECT_EQ(::pread(fd, buf, sizeof buf, 0), 10);
  EXPECT_EQ(std::string(buf), "first file");
  ::close(fd);
}

TEST(RegularFiles, AReopenedNameIsTheFileCheckedEvenWhenItsNameBecomesAFifo) {
  // What HDF5 and GDAL are given: the checked file's own name. Had they been given the path, a FIFO
  // put there after the check would make their open wait for a writer forever.
  Scratch s;
  const std::string path = s.write("shard.h5", "first file");
  const RegularFile file(path, "a shard", "");
  ASSERT_EQ(std::rename(path.c_str(), (s.dir + "/moved").c_str()), 0);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const std::string name = file.reopen_name();
  EXPECT_NE(name, path);
  // O_NONBLOCK so that this test fails, not hangs, if the name were the FIFO's: it would read 0.
  const int fd = ::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char buf[32] = {};
  EXPECT_EQ(::read(fd, buf, sizeof buf), 10);
  EXPECT_EQ(std::string(buf), "first file");
  ::close(fd);
  // Reopened for writing too (a shard upgrade does): the file's permissions decide, not the mode
  // of the descriptor that checked it.
  const int rw = ::open(name.c_str(), O_RDWR | O_CLOEXEC);
  EXPECT_GE(rw, 0);
  if (rw >= 0) ::close(rw);
  // read_at: from an offset, fewer bytes only at the end, and the same file.
  EXPECT_EQ(file.read_at(6, buf, sizeof buf), 4u);
  EXPECT_EQ(std::string(buf, 4), "file");
  EXPECT_EQ(file.read_at(10, buf, sizeof buf), 0u);
}

TEST(RegularFiles, OpenRegularFileRefusesWithoutLeakingADescriptor) {
  Scratch s;
  ASSERT_EQ(::mkfifo((s.dir + "/pipe").c_str(), 0600), 0);
  const size_t before = open_descriptors();
  uint64_t size = 7;
  EXPECT_EQ(error_of([&] { satclip::open_regular_file(s.dir + "/pipe", "a shard", "", size); }),
            s.dir + "/pipe: a FIFO (named pipe), expected a shard as a regular file");
  EXPECT_EQ(error_of([&] { satclip::open_regular_file(s.dir, "a shard", "", size); }),
            s.dir + ": a folder, expected a shard as a regular file");
  EXPECT_EQ(error_of([&] { satclip::open_regular_file(s.dir + "/nope", "a shard", "", size); }),
            s.dir + "/nope: cannot open a shard (No such file or directory)");
  EXPECT_EQ(open_descriptors(), before);  // the FIFO's and the folder's descriptors were closed
  EXPECT_EQ(size, 7u);                    // untouched when it throws
}

TEST(RegularFiles, TheHintComesWithTheError) {
  try {
    open_checked("/dev/null", "a shard", "pack it again");
    ADD_FAILURE() << "/dev/null passed as a regular file";
  } catch (const satclip::Error& e) {
    EXPECT_EQ(e.hint(), "pack it again");
  }
}

TEST(RegularFiles, TheDigestIsFnv1aAndRefusesAFifo) {
  Scratch s;
  // FNV-1a 64's published values: the offset basis for no bytes, and "a".
  EXPECT_EQ(satclip::file_digest(s.write("empty", "")).hash, 0xcbf29ce484222325ULL);
  const auto a = satclip::file_digest(s.write("a", "a"));
  EXPECT_EQ(a.hash, 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(a.size, 1u);
  const std::string fifo = s.dir + "/features.h5";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { satclip::file_digest(fifo); }),
            fifo + ": a FIFO (named pipe), expected a file to hash as a regular file");
}

TEST(LineReader, GivesTheLinesStdGetlineGives) {
  Scratch s;
  LineReader in(s.write("a.csv", "lat,lon\r\n\n1,2"), 100, "the index", "");
  std::string line;
  ASSERT_TRUE(in.next(line));
  EXPECT_EQ(line, "lat,lon\r");
  EXPECT_EQ(in.number(), 1);
  ASSERT_TRUE(in.next(line));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(in.next(line));  // the last line has no newline
  EXPECT_EQ(line, "1,2");
  EXPECT_EQ(in.number(), 3);
  EXPECT_FALSE(in.next(line));
  LineReader ended(s.write("b.csv", "x\n"), 100, "the index", "");
  ASSERT_TRUE(ended.next(line));
  EXPECT_FALSE(ended.next(line));  // no empty line after the last newline
  LineReader empty(s.write("c.csv", ""), 100, "the index", "");
  EXPECT_FALSE(empty.next(line));
  EXPECT_EQ(empty.number(), 0);
  // A spreadsheet's "CSV UTF-8" begins with a byte-order mark: not part of the first column's name.
  LineReader bom(s.write("d.csv", "\xEF\xBB\xBF" "lat,lon\n\xEF\xBB\xBF" "1,2\n"), 100, "the coordinates file", "");
  ASSERT_TRUE(bom.next(line));
  EXPECT_EQ(line, "lat,lon");
  ASSERT_TRUE(bom.next(line));
  EXPECT_EQ(line, "\xEF\xBB\xBF" "1,2");  // only at the start of the file
}

TEST(LineReader, ALineLongerThanItsLimitIsAnErrorNamingFileAndLine) {
  Scratch s;
  const std::string path = s.write("a.csv", "12345\n123456\n");
  LineReader in(path, 5, "the index", "fix the file");
  std::string line;
  ASSERT_TRUE(in.next(line));  // exactly 5 bytes
  EXPECT_EQ(line, "12345");
  try {
    in.next(line);
    ADD_FAILURE() << "a 6-byte line passed a 5-byte limit";
  } catch (const satclip::Error& e) {
    EXPECT_EQ(e.message(), path + ":2: line longer than 5 bytes (no newline in it)");
    EXPECT_EQ(e.hint(), "fix the file");
  }
}

TEST(LineReader, AnEndlessLineStopsAtTheLimitWithoutReadingTheFile) {
  // 64 GiB of zeros without a newline (sparse: no disk used). Read whole, it would exhaust memory.
  Scratch s;
  const std::string path = s.write("endless.csv", "");
  ASSERT_EQ(::truncate(path.c_str(), off_t{64} << 30), 0);
  LineReader in(path, 1 << 20, "the coordinates file", "");
  std::string line;
  const std::string m = error_of([&] { in.next(line); });
  EXPECT_EQ(m, path + ":1: line longer than 1048576 bytes (no newline in it)");
  EXPECT_LE(line.capacity(), size_t{4} << 20);
}

TEST(LineReader, ReadsTheFileItCheckedEvenWhenItsNameIsReplaced) {
  Scratch s;
  // More lines than one read of its buffer holds, so most are read after the swap.
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + ",0\n";
  const std::string path = s.write("coords.csv", text);
  LineReader in(path, 100, "the coordinates file", "");
  std::string line;
  ASSERT_TRUE(in.next(line));
  EXPECT_EQ(line, "0,0");
  ASSERT_EQ(std::rename(s.write("other.csv", "lat,lon\n").c_str(), path.c_str()), 0);
  int64_t lines = 1;
  std::string last;
  for (; in.next(line); ++lines) last = line;
  EXPECT_EQ(lines, 20000);
  EXPECT_EQ(last, "19999,0");
}

TEST(LineReader, OpensOnlyARegularFile) {
  Scratch s;
  const std::string fifo = s.dir + "/coords.csv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { LineReader(fifo, 100, "the coordinates file", ""); }),
            fifo + ": a FIFO (named pipe), expected the coordinates file as a regular file");
}

// The whole file as a string ("" when it cannot be opened).
std::string contents(const std::string& path) {
  try {
    return read_regular_file(path, 1 << 20, "a test file", "");
  } catch (const satclip::Error&) {
    return "";
  }
}

size_t entries_in(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(ReplaceFile, TheNewFileReplacesTheOldOneWhole) {
  Scratch s;
  const std::string path = s.write("out.csv", "old\n");
  std::string written_to;
  satclip::replace_file(path, [&](const std::string& tmp) {
    written_to = tmp;
    EXPECT_EQ(contents(path), "old\n");  // the old file stays in place while the new one is written
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    std::fputs("new\n", f);
    std::fclose(f);
  });
  EXPECT_EQ(written_to, s.dir + "/.out.csv.partial");  // beside the target: the rename stays on one file system
  EXPECT_EQ(contents(path), "new\n");
  EXPECT_EQ(entries_in(s.dir), 1u);
  satclip::write_file_atomically(s.dir + "/b.txt", "bytes");
  EXPECT_EQ(contents(s.dir + "/b.txt"), "bytes");
  EXPECT_EQ(entries_in(s.dir), 2u);
}

TEST(ReplaceFile, AWriterThatFailsLeavesTheOldFileAndNoTemporary) {
  Scratch s;
  const std::string path = s.write("model.pt", "old");
  const auto half_written = [](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    std::fputs("half", f);
    std::fclose(f);
  };
  // Our own error passes through as it is; anything else is named with the temporary file.
  EXPECT_EQ(error_of([&] {
              satclip::replace_file(path, [&](const std::string& tmp) {
                half_written(tmp);
                SATCLIP_FAIL("disk full", "");
              });
            }),
            "disk full");
  EXPECT_EQ(error_of([&] {
              satclip::replace_file(path, [&](const std::string& tmp) {
                half_written(tmp);
                throw std::runtime_error("unsupported dtype");
              });
            }),
            s.dir + "/.model.pt.partial: write failed: unsupported dtype");
  EXPECT_EQ(contents(path), "old");
  EXPECT_EQ(entries_in(s.dir), 1u);
}

TEST(ReplaceFile, AFolderInTheWayIsRefusedByNameAndNothingIsLeft) {
  Scratch s;
  const std::string folder = s.dir + "/emb.h5";
  ASSERT_EQ(::mkdir(folder.c_str(), 0700), 0);
  const std::string message = error_of([&] { satclip::write_file_atomically(folder, "x"); });
  EXPECT_TRUE(has(message, "cannot rename " + s.dir + "/.emb.h5.partial to " + folder + ": ")) << message;
  EXPECT_EQ(error_of([&] { satclip::write_file_atomically(s.dir + "/", "x"); }), s.dir + "/: names a folder, not a file");
  EXPECT_EQ(entries_in(s.dir), 1u);
  EXPECT_EQ(entries_in(folder), 0u);
}

TEST(ReplaceFile, AMissingOrWrongFolderIsNamedWithTheFileAsGivenBeforeAnythingIsWritten) {
  Scratch s;
  bool called = false;
  const auto writer = [&called](const std::string&) { called = true; };
  const std::string missing = s.dir + "/no-such/emb.csv";
  EXPECT_EQ(error_of([&] { satclip::replace_file(missing, writer); }),
            missing + ": the folder " + s.dir + "/no-such does not exist");
  const std::string file = s.write("plain", "x");
  EXPECT_EQ(error_of([&] { satclip::replace_file(file + "/emb.csv", writer); }),
            file + "/emb.csv: " + file + " is not a folder");
  EXPECT_FALSE(called);
  EXPECT_EQ(error_of([&] { satclip::check_output_folder("emb.csv"); }), "");  // the working directory
  EXPECT_EQ(error_of([&] { satclip::check_output_folder(s.dir + "/emb.csv"); }), "");
}

TEST(ReplaceFile, AnOutputFolderToBeMadeNeedsAWritableFolderAboveIt) {
  Scratch s;
  EXPECT_EQ(error_of([&] { satclip::check_output_dir(s.dir); }), "");
  EXPECT_EQ(error_of([&] { satclip::check_output_dir(s.dir + "/eval/run-1/"); }), "");  // made with its parents
  EXPECT_EQ(error_of([&] { satclip::check_output_dir("eval-not-made"); }), "");  // in the working directory
  const std::string file = s.write("plain", "x");
  EXPECT_EQ(error_of([&] { satclip::check_output_dir(file); }), file + ": " + file + " is not a folder");
  EXPECT_EQ(error_of([&] { satclip::check_output_dir(file + "/eval/x"); }), file + "/eval/x: " + file + " is not a folder");
  EXPECT_EQ(entries_in(s.dir), 1u);  // nothing made
  // A folder without write permission (root writes anyway, so only checked as another user).
  const std::string locked = s.dir + "/locked";
  ASSERT_EQ(::mkdir(locked.c_str(), 0500), 0);
  if (::geteuid() != 0) {
    EXPECT_EQ(error_of([&] { satclip::check_output_dir(locked + "/eval"); }),
              locked + "/eval: the folder " + locked + " is not writable");
    EXPECT_EQ(error_of([&] { satclip::check_output_folder(locked + "/e.csv"); }),
              locked + "/e.csv: the folder " + locked + " is not writable");
  }
  ::chmod(locked.c_str(), 0700);
}

}  // namespace
