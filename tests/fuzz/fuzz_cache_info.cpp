// Fuzz target: the feature cache's cache.yaml (read_cache_info), read before features.h5 and
// compared with the recipe's key to decide whether the cache can be used.
#include "core/train/cache/feature_cache_file.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  satclip::fuzz::TempDir dir(data, size, "cache.yaml");
  satclip::fuzz::expect_clean([&] { satclip::core::read_cache_info(dir.path()); });
  return 0;
}
