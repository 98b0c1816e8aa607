// Fuzz target: a checkpoint's two text files, read before any tensor: meta.yaml (parse_meta)
// and the COMPLETE marker (verify_checkpoint_dir: its 'FILE SIZE HASH' lines name the other
// files, whose sizes and hashes it checks). The input serves as both.
#include <string>

#include "core/train/checkpoint/checkpoint.h"
#include "core/train/checkpoint/checkpoint_dir.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  satclip::fuzz::expect_clean([&] { satclip::core::parse_meta(text, "meta.yaml"); });
  satclip::fuzz::TempDir dir(data, size, "COMPLETE");
  satclip::fuzz::expect_clean([&] { satclip::core::verify_checkpoint_dir(dir.path()); });
  return 0;
}
