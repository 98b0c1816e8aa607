// Fuzz target: the shard directory's manifest.json reader.
#include "datasets/manifest.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  satclip::fuzz::TempFile file(data, size, ".json");
  satclip::fuzz::expect_clean([&] { satclip::data::read_manifest(file.path()); });
  return 0;
}
