// Shard format version 2 (fixed-length strings only) and satclip-pack --upgrade: a version 1
// directory (variable-length strings, as satclip-pack wrote before) is refused with the upgrade
// command as the hint, then upgraded in place to the same tiles, names and coordinates.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "datasets/dataset.h"
#include "datasets/h5_util.h"
#include "datasets/manifest.h"
#include "datasets/shard_upgrade.h"
#include "datasets/synth.h"
#include "support/data_test_util.h"

using namespace satclip::data;
using satclip::testing::TempDir;

namespace {

// Rewrites a version 2 shard the way version 1 stored it: `format`, `bands` and /fn as
// variable-length strings, `version` = 1.
void downgrade_shard(const std::string& path) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0) << path;
  hid_t vlen = H5Tcopy(H5T_C_S1);
  H5Tset_size(vlen, H5T_VARIABLE);
  hid_t scalar = H5Screate(H5S_SCALAR);
  for (const char* name : {"format", "bands"}) {
    bool ok = false;
    const std::string value = h5_read_string_attr(file, name, ok);
    ASSERT_TRUE(ok) << name;
    H5Adelete(file, name);
    hid_t a = H5Acreate2(file, name, vlen, scalar, H5P_DEFAULT, H5P_DEFAULT);
    const char* p = value.c_str();
    H5Awrite(a, vlen, &p);
    H5Aclose(a);
  }
  H5Adelete(file, "version");
  h5_write_int_attr(file, "version", 1);
  hid_t ds = H5Dopen2(file, "fn", H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  std::string error;
  const auto names = h5_read_strings(ds, n, 4096, error);
  ASSERT_TRUE(error.empty()) << error;
  H5Dclose(ds);
  H5Ldelete(file, "fn", H5P_DEFAULT);
  ds = H5Dcreate2(file, "fn", vlen, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<const char*> ptrs;
  for (const auto& s : names) ptrs.push_back(s.c_str());
  H5Dwrite(ds, vlen, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
  H5Dclose(ds);
  H5Sclose(space);
  H5Sclose(scalar);
  H5Tclose(vlen);
  H5Fclose(file);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Contents {
  std::vector<std::vector<uint16_t>> tiles;
  std::vector<std::string> fn;
  std::vector<double> lat, lon;
};

Contents contents(const std::string& dir) {
  const auto ds = ShardedDataset::open(dir);
  Contents c;
  std::vector<uint8_t> scratch;
  for (int64_t i = 0; i < ds->size(); ++i) {
    c.tiles.emplace_back(ds->tile_pixels());
    ds->read_tile(i, c.tiles.back().data(), scratch);
    c.fn.push_back(ds->fn(i));
    c.lat.push_back(ds->lat(i));
    c.lon.push_back(ds->lon(i));
  }
  return c;
}

}  // namespace

TEST(ShardFormat, StringsAreFixedLength) {
  TempDir dir("fixed");
  write_synthetic_shards(dir / "d", {5, 16, 1, 1}, 1);
  hid_t file = H5Fopen((dir / "d/shard-0-of-1.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  hid_t ds = H5Dopen2(file, "fn", H5P_DEFAULT);
  hid_t type = H5Dget_type(ds);
  EXPECT_EQ(H5Tget_class(type), H5T_STRING);
  EXPECT_EQ(H5Tis_variable_str(type), 0);
  H5Tclose(type);
  H5Dclose(ds);
  for (const char* name : {"format", "bands"}) {
    hid_t a = H5Aopen(file, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    EXPECT_EQ(H5Tis_variable_str(t), 0) << name;
    H5Tclose(t);
    H5Aclose(a);
  }
  H5Fclose(file);
}

TEST(ShardFormat, Version1IsRefusedThenUpgradedInPlace) {
  TempDir dir("upgrade");
  write_synthetic_shards(dir / "d", {9, 16, 2, 1}, 2);
  const Contents before = contents(dir / "d");
  for (const char* s : {"shard-0-of-2.h5", "shard-1-of-2.h5"}) downgrade_shard(dir / (std::string("d/") + s));
  std::string manifest = read_all(dir / "d/manifest.json");
  const auto pos = manifest.find("\"version\": 2");
  ASSERT_NE(pos, std::string::npos) << manifest;
  manifest.replace(pos, 12, "\"version\": 1");
  satclip::testing::write_text(dir / "d/manifest.json", manifest);

  try {
    ShardedDataset::open(dir / "d");
    ADD_FAILURE() << "a version 1 directory opened";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("version 1"), std::string::npos) << e.message();
    EXPECT_NE(e.hint().find("satclip-pack --upgrade"), std::string::npos) << e.hint();
  }

  const UpgradeReport first = upgrade_shard_dir(dir / "d");
  EXPECT_EQ(first.shards_upgraded, 2);
  EXPECT_TRUE(first.manifest_upgraded);
  const Contents after = contents(dir / "d");
  EXPECT_EQ(after.tiles, before.tiles);
  EXPECT_EQ(after.fn, before.fn);
  EXPECT_EQ(after.lat, before.lat);
  EXPECT_EQ(after.lon, before.lon);

  const UpgradeReport again = upgrade_shard_dir(dir / "d");  // idempotent
  EXPECT_EQ(again.shards_upgraded, 0);
  EXPECT_EQ(again.shards_already_current, 2);
  EXPECT_FALSE(again.manifest_upgraded);
}
