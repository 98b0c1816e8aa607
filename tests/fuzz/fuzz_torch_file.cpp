// Fuzz target: read_torch_file (zip container + pickle + storages), what model.weights,
// satclip-embed --checkpoint and --resume read.
#include "core/model/torch_pickle.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  satclip::fuzz::TempFile file(data, size, ".pt");
  satclip::fuzz::expect_clean([&] {
    const satclip::RegularFile checked(file.path(), "a PyTorch file", "");
    satclip::core::read_torch_file(checked);
  });
  return 0;
}
