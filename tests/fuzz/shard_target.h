// Shared by the two shard fuzz targets: open the shard directory `dir` (the validator), read every
// record it accepted, then remove `dir`. A refusal must be a satclip::Error (fuzz_target.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/fs_util.h"
#include "datasets/dataset.h"
#include "tests/fuzz/fuzz_target.h"

namespace satclip::fuzz {

inline void open_read_all_and_remove(const std::string& dir) {
  expect_clean([&] {
    const auto ds = satclip::data::ShardedDataset::open(dir);
    std::vector<uint16_t> pixels(static_cast<size_t>(ds->tile_pixels()));
    std::vector<uint8_t> scratch;
    for (int64_t i = 0; i < ds->size(); ++i) {
      ds->read_tile(i, pixels.data(), scratch);
      (void)ds->lat(i), (void)ds->lon(i), (void)ds->fn(i);
    }
  });
  satclip::remove_tree(dir);
}

}  // namespace satclip::fuzz
