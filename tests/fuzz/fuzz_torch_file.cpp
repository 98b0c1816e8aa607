// Fuzz target: read_model_file (zip container + pickle + storages, then a SatCLIP Lightning
// checkpoint's hyper_parameters and names), what model.weights, satclip-embed --checkpoint and
// --resume read.
#include "core/model/model_file.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  satclip::fuzz::TempFile file(data, size, ".pt");
  satclip::fuzz::expect_clean([&] { satclip::core::read_model_file(file.path(), ""); });
  return 0;
}
