// Recipes compiled into the binaries (generated from recipes/*.yaml at configure time), so
// `satclip-ddp` with no argument runs the quickstart from any working directory.
#pragma once

namespace satclip::core {

extern const char* const kEmbeddedQuickstart;  // recipes/quickstart.yaml

}  // namespace satclip::core
