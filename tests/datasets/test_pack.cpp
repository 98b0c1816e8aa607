// Synthetic S2-100k -> satclip-pack -> shards: exact pixel round trip against GDAL, and every
// kind of bad input with its documented handling.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "datasets/dataset.h"
#include "datasets/geotiff.h"
#include "datasets/h5_shards.h"
#include "datasets/packer.h"
#include "datasets/s2_index.h"
#include "datasets/synth.h"
#include "datasets/synth_world.h"
#include "support/data_test_util.h"

namespace fs = std::filesystem;
using namespace satclip::data;
using satclip::testing::TempDir;
using satclip::testing::write_text;

namespace {

PackOptions pack_options(const std::string& root, const std::string& out, int shards = 2,
                         const std::string& compression = "none") {
  PackOptions o;
  o.index = root + "/index.csv";
  o.images = root + "/images";
  o.out = out;
  o.shards = shards;
  o.compression = compression;
  o.threads = 2;
  o.progress = satclip::ProgressStyle::kLines;
  return o;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, PackedPixelsEqualGdalPixelsExactly) {
  TempDir dir("roundtrip");
  write_synthetic_dataset(dir / "src", {25, 32, /*seed=*/3, 2});
  const auto report = pack_s2(pack_options(dir / "src", dir / "out", 3, GetParam()));
  EXPECT_EQ(report.packed, 25);
  EXPECT_EQ(report.skipped_total(), 0);
  const auto ds = ShardedDataset::open(dir / "out");
  ASSERT_EQ(ds->size(), 25);
  EXPECT_EQ(ds->manifest().shards.size(), 3u);
  const auto index = read_s2_index(dir / "src/index.csv");
  std::vector<uint16_t> buf(ds->tile_pixels());
  std::vector<uint8_t> scratch;
  for (int64_t i = 0; i < ds->size(); ++i) {
    ds->read_tile(i, buf.data(), scratch);
    const Tile t = read_geotiff(dir / ("src/images/" + ds->fn(i)));
    ASSERT_EQ(t.data, buf) << "tile " << i;
    EXPECT_EQ(ds->fn(i), index[i].fn);
    EXPECT_DOUBLE_EQ(ds->lat(i), index[i].lat);
    EXPECT_DOUBLE_EQ(ds->lon(i), index[i].lon);
  }
}

INSTANTIATE_TEST_SUITE_P(Compression, RoundTrip, ::testing::Values("none", "gzip", "gzip:9", "szip", "zstd", "zstd:1"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& c : s) if (c == ':') c = '_';
                           return s;
                         });

TEST(Synth, TilesDependOnLocationAndAreDeterministic) {
  const Tile a = synth_tile(10, 20, 32, 0), b = synth_tile(10, 20, 32, 0), c = synth_tile(-60, 150, 32, 0);
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, c.data);
  const LandCover lc = land_cover(12.5, -40);
  EXPECT_NEAR(lc.water + lc.vegetation + lc.bare + lc.snow, 1.0, 1e-12);
}

// The synthetic world is the real one: sea, ice sheet, rain forest and desert where they are, in
// the spectra of water (dark in the near infrared), snow (bright in the visible), vegetation
// (near infrared far above red) and bare soil (bright in the short-wave infrared).
TEST(Synth, TilesFollowRealGeography) {
  auto mean_band = [](const Tile& t, int b) {
    double s = 0;
    for (int i = 0; i < t.height * t.width; ++i) s += t.data[size_t(b) * t.height * t.width + i];
    return s / (t.height * t.width);
  };
  constexpr int kGreen = 2, kRed = 3, kNir = 7, kSwir = 10;
  const Tile pacific = synth_tile(0, -150, 16, 0), greenland = synth_tile(72, -40, 16, 0);
  const Tile amazon = synth_tile(-5, -62, 16, 0), sahara = synth_tile(23, 10, 16, 0);
  EXPECT_LT(mean_band(pacific, kNir), 300);
  EXPECT_GT(mean_band(greenland, kGreen), 5000);
  EXPECT_GT(mean_band(amazon, kNir), 3 * mean_band(amazon, kRed));
  EXPECT_GT(mean_band(sahara, kSwir), 3000);
  EXPECT_LT(mean_band(sahara, kNir), 2 * mean_band(sahara, kRed));
  // Countries: Paris and Lyon in one, Berlin in another, the Pacific in none.
  EXPECT_NE(place_at(48.86, 2.35).country, 0);
  EXPECT_EQ(place_at(48.86, 2.35).country, place_at(45.76, 4.84).country);
  EXPECT_NE(place_at(48.86, 2.35).country, place_at(52.52, 13.40).country);
  EXPECT_EQ(place_at(0, -150).country, 0);
  // Climate from the stations: Yakutsk far colder than Singapore, Cairo far drier than Bergen.
  EXPECT_LT(place_at(62.0, 129.7).temperature_c, place_at(1.35, 103.8).temperature_c - 25);
  EXPECT_LT(place_at(30.0, 31.2).precipitation_mm * 3, place_at(60.4, 5.3).precipitation_mm);
  // About half the locations on land: a sea point is redrawn once, and land is 29 % of the sphere
  // at 1:110m (by area), so 1 - 0.71^2 = 0.50 (binomial std over 2000 draws: 0.011).
  int land = 0;
  for (int64_t i = 0; i < 2000; ++i) {
    double lat = 0, lon = 0;
    synth_location(i, 0, lat, lon);
    land += place_at(lat, lon).country != 0;
  }
  EXPECT_NEAR(land / 2000.0, 1 - 0.71 * 0.71, 0.04);
}

TEST(Synth, GeoTiffLayoutIsS2Like) {
  TempDir dir("layout");
  write_synthetic_dataset(dir.str(), {2, 64, 0, 1});
  const auto records = read_s2_index(dir / "index.csv");
  ASSERT_EQ(records.size(), 2u);
  const Tile t = read_geotiff(dir / ("images/" + records[0].fn));
  EXPECT_EQ(t.bands, 12);
  EXPECT_EQ(t.height, 64);
  EXPECT_GE(fs::file_size(dir / ("images/" + records[0].fn)), uint64_t(kMinTileBytes));
  EXPECT_EQ(read_all(dir / "index.csv").substr(0, 15), "lat,lon,url,fn\n");
}

TEST(Pack, BadRecordsAreSkippedCountedAndListed) {
  TempDir dir("bad");
  const std::string src = dir / "src";
  write_synthetic_dataset(src, {6, 64, 1, 2});
  auto index = read_all(src + "/index.csv");
  // A tiny file, a truncated GeoTIFF, an 11-band tile and a tile of the wrong size.
  write_text(src + "/images/tiny.tif", std::string(500, 'x'));
  {
    const auto good = read_all(src + "/images/patch_0.tif");
    write_text(src + "/images/truncated.tif", good.substr(0, good.size() * 2 / 3));
  }
  Tile eleven = synth_tile(5, 5, 64, 0);
  eleven.bands = 11;
  eleven.data.resize(size_t(11) * 64 * 64);
  write_geotiff(src + "/images/eleven.tif", eleven, 5, 5);
  write_geotiff(src + "/images/small.tif", synth_tile(6, 6, 48, 0), 6, 6);
  ASSERT_EQ(0, ::mkfifo((src + "/images/pipe.tif").c_str(), 0600));  // never written: GDAL would wait
  index += "1,2,u,missing.tif\n";
  index += "1,2,u,pipe.tif\n";
  index += "1,2,u,tiny.tif\n";
  index += "1,2,u,truncated.tif\n";
  index += "1,2,u,eleven.tif\n";
  index += "1,2,u,small.tif\n";
  index += "nan,2,u,patch_1.tif\n";
  index += "95,2,u,patch_2.tif\n";
  index += "1,2,u,patch_3.tif\n";  // duplicate of an earlier line
  index += "1,2\n";                // malformed
  index += "1,2,u,../images/patch_4.tif\n";  // a real tile, but named by a way out of --images
  index += "1,2,u," + src + "/images/patch_5.tif\n";
  write_text(src + "/index.csv", index);

  const auto report = pack_s2(pack_options(src, dir / "out"));
  EXPECT_EQ(report.packed, 6);
  const std::map<std::string, int64_t> expected = {
      {"missing file", 1},     {"not a regular file", 1}, {"file under 10000 bytes", 1},
      {"unreadable GeoTIFF", 1}, {"wrong band count", 1}, {"wrong tile size", 1},
      {"bad coordinate", 2},   {"duplicate fn", 1},       {"malformed index line", 1},
      {"fn outside the images folder", 2}};
  EXPECT_EQ(report.skipped, expected) << report.summary();
  const auto listed = read_all(dir / "out/skipped.csv");
  for (const char* fn : {"missing.tif", "pipe.tif", "tiny.tif", "truncated.tif", "eleven.tif", "small.tif"}) {
    EXPECT_NE(listed.find(fn), std::string::npos) << fn << " not in skipped.csv:\n" << listed;
  }
  EXPECT_EQ(std::count(listed.begin(), listed.end(), '\n'), 13);  // header + 12 records
  const auto ds = ShardedDataset::open(dir / "out");
  EXPECT_EQ(ds->size(), 6);
  EXPECT_EQ(ds->manifest().skipped, 12);
}

TEST(GeoTiff, ErrorsNameTheTileByItsPath) {
  // GDAL opens the checked file by its /proc/self/fd name; its messages must still name the tile.
  TempDir dir("gdal-names");
  const std::string path = dir / "not-a-tiff.tif";
  write_text(path, std::string(20000, 'x'));
  try {
    read_geotiff(path);
    ADD_FAILURE() << "a file of x's was read as a GeoTIFF";
  } catch (const satclip::Error& e) {
    EXPECT_EQ(e.message().rfind(path + ": GDAL cannot open it (", 0), 0u) << e.message();
    EXPECT_EQ(e.message().find("/proc/self/fd"), std::string::npos) << e.message();
  }
}

TEST(Pack, IndexErrorsNameTheFile) {
  TempDir dir("index");
  write_text(dir / "nolon.csv", "lat,fn\n1,a.tif\n");
  write_text(dir / "empty.csv", "lat,lon,fn\n");
  write_text(dir / "nothing.csv", "");
  // 4 GiB of zeros without a newline (sparse): refused after its first MiB, not read whole.
  write_text(dir / "endless.csv", "lat,lon,fn\n");
  ASSERT_EQ(0, ::truncate((dir / "endless.csv").c_str(), off_t{4} << 30));
  ASSERT_EQ(0, ::mkfifo((dir / "fifo.csv").c_str(), 0600));
  for (const auto& [file, expect] : std::vector<std::pair<std::string, std::string>>{
           {"nolon.csv", "no column 'lon'"}, {"empty.csv", "no records"}, {"nothing.csv", "is empty"},
           {"absent.csv", "cannot open"}, {"endless.csv", "endless.csv:2: line longer than 1048576 bytes"},
           {"fifo.csv", "a FIFO (named pipe), expected the index as a regular file"}}) {
    try {
      read_s2_index(dir / file);
      ADD_FAILURE() << file;
    } catch (const satclip::Error& e) {
      EXPECT_NE(e.message().find(file), std::string::npos) << e.message();
      EXPECT_NE(e.message().find(expect), std::string::npos) << e.message();
    }
  }
}

TEST(Pack, IndexRecordsTakeTheirColumnsByNameAndPlainNumbers) {
  TempDir dir("index-records");
  const auto index_of = [&](const std::string& name, const std::string& text) {
    write_text(dir / name, text);
    return read_s2_index(dir / name);
  };
  // Columns are found by name, in any order, with extra columns ignored; a byte-order mark before
  // the header is no part of the first name.
  const auto r = index_of("order.csv", "\xEF\xBB\xBF" "fn,extra,lon,lat\n\"a,b.tif\",x,10,20\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].fn, "a,b.tif");
  EXPECT_EQ(r[0].lat, 20);
  EXPECT_EQ(r[0].lon, 10);
  // Decimal commas shift the columns: a malformed line, not a tile at lat 47, lon 37. A trailing
  // comma adds no field.
  const auto c = index_of("commas.csv", "fn,lat,lon\na.tif,47,37,8,54\nb.tif,1.5,2.5,\n");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].problem, "line 2 has 5 fields, the header has 3");
  EXPECT_EQ(c[1].problem, "");
  EXPECT_EQ(c[1].lat, 1.5);
  // Blanks after the commas, in the header and around the numbers: still read.
  const auto w = index_of("blanks.csv", "fn, lat, lon\na.tif, 47.5 ,\t8.5\n");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].problem, "");
  EXPECT_EQ(w[0].lat, 47.5);
  EXPECT_EQ(w[0].lon, 8.5);
  // Numbers as C's strtod would also read them are not coordinates.
  const auto h = index_of("hex.csv", "fn,lat,lon\na.tif,0x10,2\nb.tif,1,inf\n");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].problem, "bad latitude '0x10' (expected a number in -90 .. 90)");
  EXPECT_EQ(h[1].problem, "bad longitude 'inf' (expected a number in -180 .. 180)");
}

TEST(Shards, DamagedShardDirectoriesAreReportedAtOpen) {
  TempDir dir("damaged");
  write_synthetic_shards(dir / "good", {12, 16, 0, 1}, 2);
  auto expect_open_error = [&](const std::string& what, const std::string& fragment) {
    try {
      ShardedDataset::open(dir / what);
      ADD_FAILURE() << what << " opened without error";
    } catch (const satclip::Error& e) {
      EXPECT_NE(e.message().find(fragment), std::string::npos) << what << ": " << e.message();
    }
    // Whatever the reader had opened before it refused the file is closed again.
    EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0) << what << ": HDF5 objects left open";
  };
  auto copy = [&](const std::string& name) {
    satclip::copy_tree(dir / "good", dir / name);
    return dir / name;
  };
  // Truncated shard.
  const auto truncated = copy("truncated");
  ASSERT_EQ(0, ::truncate((truncated + "/shard-1-of-2.h5").c_str(),
                          off_t(fs::file_size(truncated + "/shard-1-of-2.h5") / 2)));
  expect_open_error("truncated", "shard-1-of-2.h5");
  // A shard the manifest lists is gone.
  const auto gone = copy("gone");
  fs::remove(gone + "/shard-1-of-2.h5");
  expect_open_error("gone", "shard-1-of-2.h5: cannot open a shard (No such file or directory)");
  // A foreign HDF5 file in place of a shard.
  const auto foreign = copy("foreign");
  {
    hid_t f = H5Fcreate((foreign + "/shard-0-of-2.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
  }
  expect_open_error("foreign", "not a satclip shard");
  // Not HDF5 at all.
  const auto text = copy("text");
  write_text(text + "/shard-0-of-2.h5", "hello");
  expect_open_error("text", "not an HDF5 file");
  // The manifest disagrees with the shard.
  const auto mismatch = copy("mismatch");
  auto manifest = read_all(mismatch + "/manifest.json");
  const auto pos = manifest.find("\"count\": 6}");
  ASSERT_NE(pos, std::string::npos) << manifest;
  manifest.replace(pos, 11, "\"count\": 7}");
  manifest.replace(manifest.find("\"count\": 12"), 11, "\"count\": 13");
  write_text(mismatch + "/manifest.json", manifest);
  expect_open_error("mismatch", "the manifest says 7");
  // A shard whose /lat is 2-D: refused after /images and its type and extent were opened.
  const auto flat = copy("lat-2d");
  {
    const std::string shard = flat + "/shard-0-of-2.h5";
    hid_t f = H5Fopen(shard.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    ASSERT_GE(H5Ldelete(f, "lat", H5P_DEFAULT), 0);
    const hsize_t dims[2] = {3, 2};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t ds = H5Dcreate2(f, "lat", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(ds, 0);
    H5Dclose(ds);
    H5Sclose(space);
    H5Fclose(f);
  }
  expect_open_error("lat-2d", "/lat is not a 1-D float dataset of 6 entries (rank 2, 6 entries)");
  // No manifest (an interrupted pack writes it last).
  const auto unfinished = copy("unfinished");
  fs::remove(unfinished + "/manifest.json");
  expect_open_error("unfinished", "no manifest");
  // A FIFO or a folder in place of a file: refused by name at once, never waited on (HDF5 and
  // yaml-cpp open by name and would block on a FIFO until this test's TIMEOUT).
  const auto fifo_manifest = copy("fifo-manifest");
  fs::remove(fifo_manifest + "/manifest.json");
  ASSERT_EQ(0, ::mkfifo((fifo_manifest + "/manifest.json").c_str(), 0600));
  expect_open_error("fifo-manifest", "manifest.json: a FIFO (named pipe), expected the manifest as a regular file");
  const auto fifo_shard = copy("fifo-shard");
  fs::remove(fifo_shard + "/shard-1-of-2.h5");
  ASSERT_EQ(0, ::mkfifo((fifo_shard + "/shard-1-of-2.h5").c_str(), 0600));
  expect_open_error("fifo-shard", "shard-1-of-2.h5: a FIFO (named pipe), expected a shard as a regular file");
  const auto folder_shard = copy("folder-shard");
  fs::remove(folder_shard + "/shard-0-of-2.h5");
  fs::create_directory(folder_shard + "/shard-0-of-2.h5");
  expect_open_error("folder-shard", "shard-0-of-2.h5: a folder, expected a shard");
  // A manifest past its size limit (sparse: no disk used) is refused before it is read.
  const auto huge = copy("huge-manifest");
  ASSERT_EQ(0, ::truncate((huge + "/manifest.json").c_str(), off_t{64} << 20));
  expect_open_error("huge-manifest", "67108864 bytes, more than the 16777216 bytes the manifest may have");
  EXPECT_NO_THROW(ShardedDataset::open(dir / "good"));
}

TEST(Shards, UnfinishedWriterLeavesNothingThatLooksComplete) {
  TempDir dir("unfinished");
  {
    ShardWriter w(dir / "s.h5", 12, 8, 8, std::vector<std::string>(12, "B"), Compression());
    std::vector<uint16_t> px(12 * 8 * 8, 7);
    w.append(px.data(), nullptr, 1, 2, "a");
    EXPECT_TRUE(fs::exists(dir / "s.h5.partial"));
  }  // destroyed without finish(), as when an exception unwinds the packer
  EXPECT_FALSE(fs::exists(dir / "s.h5"));
  EXPECT_FALSE(fs::exists(dir / "s.h5.partial"));
}

// A zstd chunk with one byte changed fails its frame checksum when read, naming the shard and tile.
TEST(Shards, DamagedZstdChunkIsReportedWhenRead) {
  TempDir dir("zstd-damage");
  write_synthetic_dataset(dir / "src", {3, 32, 4, 1});
  pack_s2(pack_options(dir / "src", dir / "out", 1, "zstd"));
  const std::string shard = dir / "out/shard-0-of-1.h5";
  std::string bytes = read_all(shard);
  const size_t frame = bytes.find(std::string("\x28\xb5\x2f\xfd", 4));  // zstd's magic number
  ASSERT_NE(frame, std::string::npos);
  bytes[frame + 200] = char(bytes[frame + 200] ^ 0x10);
  std::ofstream(shard, std::ios::binary | std::ios::trunc) << bytes;
  const auto ds = ShardedDataset::open(dir / "out");
  std::vector<uint16_t> buf(ds->tile_pixels());
  std::vector<uint8_t> scratch;
  int failed = 0;
  for (int64_t i = 0; i < ds->size(); ++i) {
    try {
      ds->read_tile(i, buf.data(), scratch);
    } catch (const satclip::Error& e) {
      ++failed;
      EXPECT_NE(e.message().find("shard-0-of-1.h5: tile 0 does not decode"), std::string::npos) << e.message();
    }
  }
  EXPECT_EQ(failed, 1);
}

TEST(Pack, RefusesToOverwriteAPackedDirectory) {
  TempDir dir("twice");
  write_synthetic_dataset(dir / "src", {3, 32, 0, 1});
  pack_s2(pack_options(dir / "src", dir / "out", 1));
  EXPECT_THROW(pack_s2(pack_options(dir / "src", dir / "out", 1)), satclip::Error);
}

TEST(Split, DeterministicDisjointAndCovering) {
  TempDir dir("split");
  write_synthetic_shards(dir.str(), {50, 8, 0, 1}, 2);
  const auto ds = ShardedDataset::open(dir.str());
  const auto a = ds->split(0.2, 7), b = ds->split(0.2, 7), c = ds->split(0.2, 8);
  EXPECT_EQ(a.val, b.val);
  EXPECT_NE(a.val, c.val);
  EXPECT_EQ(a.val.size(), 10u);
  std::vector<int64_t> all = a.train;
  all.insert(all.end(), a.val.begin(), a.val.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(all[i], i);
}
