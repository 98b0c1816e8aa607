// Fuzz target: the S2-100k index.csv reader (satclip-pack's input).
#include "datasets/s2_index.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  satclip::fuzz::TempFile file(data, size, ".csv");
  satclip::fuzz::expect_clean([&] { satclip::data::read_s2_index(file.path()); });
  return 0;
}
