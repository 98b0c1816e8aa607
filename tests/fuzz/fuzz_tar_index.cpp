// Fuzz target: the tar archive index (satclip-pack --images with .tar archives). Besides not
// crashing, every member it lists lies inside the file unless marked truncated.
#include <cstdlib>

#include "datasets/tar_index.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  satclip::fuzz::TempFile file(data, size, ".tar");
  satclip::fuzz::expect_clean([&] {
    const auto index = satclip::data::index_tar(file.path());
    for (const auto& m : index.members) {
      const bool inside = m.offset <= index.file_size && m.size <= index.file_size - m.offset;
      if (inside == m.truncated) std::abort();
    }
  });
  return 0;
}
