// Loading recipes: YAML file + `--set key.path=value` overrides -> validated Recipe.
//
// Strict: an unknown key names the key path, the file and line, and the nearest valid key; a
// wrong type names the key and the expected type; a missing required key or an out-of-range value
// names the key and what is allowed. Each error is one line (a ConfigError), plus a HINT.
#pragma once

#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/recipe/recipe.h"

namespace satclip::core {

class ConfigError : public Error {
 public:
  ConfigError(std::string message, std::string hint, std::string key)
      : Error(std::move(message), std::move(hint)), key_(std::move(key)) {}
  // The dotted key path the error is about.
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// Loads `path` (a regular file of at most 1 MiB; a FIFO or folder is a ConfigError naming it) and
// applies `overrides` ("a.b=value", value parsed as YAML) in order.
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides = {});

// Same, from YAML text; `origin` names it in messages (e.g. the embedded quickstart recipe).
Recipe load_recipe_text(const std::string& yaml, const std::string& origin,
                        const std::vector<std::string>& overrides = {});

// The resolved recipe as YAML (every key, defaults included), e.g. for RUN_DIR/config.yaml.
std::string recipe_to_yaml(const Recipe& recipe);

// The resolved recipe as an aligned two-column table for the log.
std::string recipe_table(const Recipe& recipe);

// The keys that decide the model, the loss and the data a checkpoint was trained on, as sorted
// "key: value" lines: model.*, loss.*, run.seed and data.* except the batch sizes, workers and
// prefetch (which a resumed run may change). A resume compares them.
std::vector<std::string> recipe_identity(const Recipe& recipe);
// A 16-hex-digit hash of recipe_identity().
std::string recipe_identity_hash(const Recipe& recipe);
// How `now` differs from the recipe `then_yaml` (e.g. a checkpoint's recipe.yaml; `origin` names
// it in messages) in recipe_identity()'s keys, as "key: then -> now" lines; none when they agree.
// Both are read and written by this build, so an earlier build's number format (0.10000000000000001
// for 0.1) is no difference, where its recipe_identity_hash() would differ.
std::vector<std::string> recipe_identity_changes(const Recipe& now, const std::string& then_yaml,
                                                 const std::string& origin);

// Every key as a markdown table: key, type, allowed values, default (from the Recipe structs).
std::string recipe_keys_markdown();

// The valid key closest to `key` by edit distance, or "" when none is close.
std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace satclip::core
