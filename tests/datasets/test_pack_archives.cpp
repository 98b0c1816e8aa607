// satclip-pack reading S2-100k's tar archives in place: the same shards as from the extracted
// files (archives written by GNU tar in its gnu, pax and ustar formats, long member names, a
// truncated download), and the tar index's handling of hostile archives.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/base/text.h"
#include "datasets/packer.h"
#include "datasets/synth.h"
#include "datasets/tar_index.h"
#include "datasets/tile_source.h"
#include "support/data_test_util.h"

namespace fs = std::filesystem;
using namespace satclip::data;
using satclip::testing::TempDir;
using satclip::testing::write_text;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// GNU tar, as a user would run it; `args` are shell words without spaces.
int tar(const std::string& args) { return std::system(("tar " + args + " 2>/dev/null").c_str()); }

// fn -> reason, from skipped.csv.
std::map<std::string, std::string> skipped_reasons(const std::string& out) {
  std::map<std::string, std::string> reasons;
  std::istringstream in(read_all(out + "/skipped.csv"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto fields = satclip::split_csv_line(line);
    if (fields.size() >= 2) reasons[fields[0]] = fields[1];
  }
  return reasons;
}

PackReport pack(const std::string& index, const std::string& images, const std::string& out) {
  PackOptions o;
  o.index = index;
  o.images = images;
  o.out = out;
  o.shards = 3;
  o.threads = 2;
  o.progress = satclip::ProgressStyle::kLines;
  return pack_s2(o);
}

// A tar header block with a valid checksum: `name`, type `type`, size field `size_field`.
std::string header(const std::string& name, char type, const std::string& size_field) {
  std::string h(512, '\0');
  h.replace(0, name.size(), name);
  h.replace(100, 7, "0000644");
  h.replace(124, size_field.size(), size_field);
  h[156] = type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[size_t(i)]);
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  h.replace(148, 7, std::string(chk, 6) + '\0');
  return h;
}

}  // namespace

TEST(Archives, PackFromArchivesEqualsPackFromExtractedFiles) {
  TempDir dir("archives");
  const std::string src = dir / "src";
  write_synthetic_dataset(src, {30, 32, /*seed=*/5, 2});
  // Bad records travel in the archives too: a tiny file and a truncated GeoTIFF.
  write_text(src + "/images/tiny.tif", std::string(500, 'x'));
  const std::string good = read_all(src + "/images/patch_0.tif");
  write_text(src + "/images/cut.tif", good.substr(0, good.size() * 2 / 3));
  write_text(src + "/index.csv", read_all(src + "/index.csv") + "1,2,u,tiny.tif\n1,2,u,cut.tif\n");

  // a.tar (gnu): patch_0..9, tiny.tif, cut.tif. b.tar (pax): patch_10..19 under a folder name of
  // 120 characters. c.tar (ustar): patch_20..29, then cut inside patch_25's data.
  const std::string arch = dir / "arch", images = src + "/images";
  fs::create_directories(arch);
  std::string a_files = "tiny.tif cut.tif", b_files, c_files;
  const std::string deep = "long/" + std::string(120, 'd');
  fs::create_directories(dir / deep);
  for (int i = 0; i < 30; ++i) {
    const std::string name = satclip::cat("patch_", i, ".tif");
    if (i < 10) a_files += " " + name;
    if (i >= 10 && i < 20) {
      fs::copy_file(images + "/" + name, dir / (deep + "/" + name));
      b_files += " " + std::string(120, 'd') + "/" + name;
    }
    if (i >= 20) c_files += " " + name;
  }
  ASSERT_EQ(0, tar("--format=gnu -C " + images + " -cf " + arch + "/a.tar " + a_files));
  ASSERT_EQ(0, tar("--format=pax -C " + (dir / "long") + " -cf " + arch + "/b.tar " + b_files));
  ASSERT_EQ(0, tar("--format=ustar -C " + images + " -cf " + arch + "/c.tar " + c_files));
  const TarIndex whole = index_tar(arch + "/c.tar");
  ASSERT_EQ(whole.members.size(), 10u);
  EXPECT_EQ(whole.problem, "");
  EXPECT_EQ(whole.members[5].name, "patch_25.tif");
  fs::resize_file(arch + "/c.tar", whole.members[5].offset + whole.members[5].size / 2);
  const TarIndex b = index_tar(arch + "/b.tar");
  ASSERT_EQ(b.members.size(), 10u);
  EXPECT_EQ(b.members[0].name, std::string(120, 'd') + "/patch_10.tif");  // from the pax header

  // The same archives extracted by GNU tar (the cut one as far as it goes).
  const std::string ext = dir / "ext";
  fs::create_directories(ext);
  ASSERT_EQ(0, tar("-C " + ext + " -xf " + arch + "/a.tar"));
  ASSERT_EQ(0, tar("-C " + ext + " --strip-components=1 -xf " + arch + "/b.tar"));
  EXPECT_NE(0, tar("-C " + ext + " -xf " + arch + "/c.tar"));  // tar: unexpected end of file

  const auto from_archives = pack(src + "/index.csv", arch, dir / "out-tar");
  const auto from_files = pack(src + "/index.csv", ext, dir / "out-ext");
  EXPECT_EQ(from_archives.packed, 25);  // patch_0..24
  EXPECT_EQ(from_files.packed, 25);
  for (int k = 0; k < 3; ++k) {
    const std::string name = satclip::cat("/shard-", k, "-of-3.h5");
    EXPECT_TRUE(read_all(dir / ("out-tar" + name)) == read_all(dir / ("out-ext" + name))) << name << " differs";
  }
  EXPECT_EQ(read_all(dir / "out-tar/manifest.json").size(), read_all(dir / "out-ext/manifest.json").size());
  // The same records skipped; only the cut member's reason says where it was cut.
  auto tar_reasons = skipped_reasons(dir / "out-tar");
  auto ext_reasons = skipped_reasons(dir / "out-ext");
  ASSERT_EQ(tar_reasons.size(), 7u) << from_archives.summary();  // tiny, cut, patch_25..29
  EXPECT_EQ(tar_reasons["patch_25.tif"], "truncated archive");
  EXPECT_NE(ext_reasons["patch_25.tif"], "");  // extracted as a cut file: unreadable or tiny
  tar_reasons.erase("patch_25.tif");
  ext_reasons.erase("patch_25.tif");
  EXPECT_EQ(tar_reasons, ext_reasons);
  EXPECT_EQ(tar_reasons["patch_27.tif"], "missing file");
  EXPECT_EQ(tar_reasons["tiny.tif"], "file under 10000 bytes");
  EXPECT_EQ(tar_reasons["cut.tif"], "unreadable GeoTIFF");
}

TEST(Archives, ANameInTwoArchivesIsRefusedNamingBoth) {
  TempDir dir("archives-dup");
  write_synthetic_dataset(dir / "src", {2, 32, 1, 1});
  const std::string images = dir / "src/images";
  ASSERT_EQ(0, tar("-C " + images + " -cf " + (dir / "one.tar") + " patch_0.tif patch_1.tif"));
  ASSERT_EQ(0, tar("-C " + images + " -cf " + (dir / "two.tar") + " patch_1.tif"));
  try {
    TileSource source((dir / "one.tar") + "," + (dir / "two.tar"), 2);
    FAIL() << "a name in two archives was accepted";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("patch_1.tif is in two archives"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("two.tar"), std::string::npos) << e.message();
  }
  // --images naming something else is refused with what it takes.
  EXPECT_THROW(TileSource(dir / "src/index.csv", 1), satclip::Error);
}

TEST(TarIndex, HostileArchivesStopTheListingNeverTheProcess) {
  TempDir dir("tar-hostile");
  auto listing = [&](const std::string& name, const std::string& bytes) {
    write_text(dir / name, bytes);
    return index_tar(dir / name);
  };
  // Not a tar at all; empty; one good member and a header whose checksum is wrong.
  EXPECT_NE(listing("text.tar", std::string(2048, 'x')).problem.find("bad checksum"), std::string::npos);
  EXPECT_NE(listing("empty.tar", "").problem.find("ends inside a header"), std::string::npos);
  const std::string one = header("a.tif", '0', "00000000012") + std::string(512, 'a');
  std::string bad = header("b.tif", '0', "00000000012");
  bad[0] = 'c';  // checksum now wrong
  const TarIndex damaged = listing("damaged.tar", one + bad + std::string(1024, '\0'));
  ASSERT_EQ(damaged.members.size(), 1u);
  EXPECT_EQ(damaged.members[0].name, "a.tif");
  EXPECT_EQ(damaged.members[0].offset, 512u);
  EXPECT_EQ(damaged.members[0].size, 10u);
  EXPECT_NE(damaged.problem.find("bad checksum"), std::string::npos);
  // A member claiming 8 GiB (octal) or 2^62 bytes (base-256): listed as truncated, not read.
  const TarIndex huge = listing("huge.tar", header("h.tif", '0', "77777777777") + std::string(512, 'h'));
  ASSERT_EQ(huge.members.size(), 1u);
  EXPECT_TRUE(huge.members[0].truncated);
  std::string b256(12, '\0');
  b256[0] = char(0x80);
  b256[4] = char(0x40);
  const TarIndex base256 = listing("b256.tar", header("h.tif", '0', b256) + std::string(512, 'h'));
  ASSERT_EQ(base256.members.size(), 1u);
  EXPECT_EQ(base256.members[0].size, uint64_t(1) << 62);
  EXPECT_TRUE(base256.members[0].truncated);
  // A GNU long name of 1 GiB, and a pax header whose record length lies.
  EXPECT_NE(listing("longname.tar", header("././@LongLink", 'L', "10000000000") + std::string(512, 'n'))
                .problem.find("extended header"),
            std::string::npos);
  const std::string pax = "99 path=x.tif\n";
  std::string pax_block = pax + std::string(512 - pax.size(), '\0');
  EXPECT_NE(listing("pax.tar", header("pax", 'x', satclip::cat("000000000", "16")) + pax_block).problem.find("pax"),
            std::string::npos);
  // A FIFO is refused before it is read (it would block).
  ASSERT_EQ(0, ::mkfifo((dir / "pipe.tar").c_str(), 0600));
  EXPECT_THROW(index_tar(dir / "pipe.tar"), satclip::Error);
}
