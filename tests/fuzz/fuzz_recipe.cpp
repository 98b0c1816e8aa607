// Fuzz target: the recipe loader, on YAML text and on a `--set key=value` string (the first line
// of the input is the override, the rest the YAML).
#include "core/recipe/config.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  satclip::fuzz::expect_clean([&] { satclip::core::load_recipe_text(text, "fuzz.yaml"); });
  const auto nl = text.find('\n');
  const std::string override = text.substr(0, nl);
  const std::string yaml = nl == std::string::npos ? "data:\n  path: synthetic\n" : text.substr(nl + 1);
  satclip::fuzz::expect_clean([&] { satclip::core::load_recipe_text(yaml, "fuzz.yaml", {override}); });
  return 0;
}
