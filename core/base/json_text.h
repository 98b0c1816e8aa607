// Writing JSON by hand (reports, manifests): the one piece that needs care is a string literal.
#pragma once

#include <string>

namespace satclip {

// `s` as a JSON string literal: quoted, with '"' and '\' escaped and control characters as \u00XX.
std::string json_quote(const std::string& s);

}  // namespace satclip
