// The recipe's schema: every key with its type, allowed values and binding to a Recipe member.
//
// recipe_fields() is the single list of keys. The loader (config.cpp) uses it to assign values,
// reject unknown keys (with the nearest valid key), report missing required keys, and print or
// save the resolved recipe.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/recipe/recipe.h"

namespace satclip::core {

// Thrown by FieldSpec::assign; the loader adds file, line and key.
struct FieldError : std::runtime_error {
  enum class Kind { kType, kRange };
  FieldError(Kind k, const std::string& detail) : std::runtime_error(detail), kind(k) {}
  Kind kind;
};

struct FieldSpec {
  std::string path;     // "data.batch_size"
  std::string type;     // "an integer", "a number", "true or false", "a string", "a list of numbers"
  std::string allowed;  // "1 .. 65536", "one of: a, b", or "" (anything of the type)
  bool required = false;
  std::function<void(const YAML::Node&)> assign;  // throws FieldError
  std::function<YAML::Node()> value;              // current value, for printing and saving
};

// The schema bound to `recipe`'s members (the specs write into it).
std::vector<FieldSpec> recipe_fields(Recipe& recipe);

}  // namespace satclip::core
