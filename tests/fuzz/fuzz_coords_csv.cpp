// Fuzz target: the coordinates CSV (lat/lon columns in any order) of satclip-embed, and with a
// value column (satclip-eval's station data: meanT).
#include <vector>

#include "core/infer/coords_csv.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  satclip::fuzz::TempFile file(data, size, ".csv");
  satclip::fuzz::expect_clean([&] { satclip::core::read_coords_csv(file.path()); });
  std::vector<double> values;
  satclip::fuzz::expect_clean([&] { satclip::core::read_coords_csv(file.path(), "meanT", values); });
  return 0;
}
