#include "core/recipe/config.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "core/base/fs_util.h"
#include "core/base/hash.h"
#include "core/base/text.h"
#include "core/recipe/recipe_fields.h"

namespace satclip::core {
namespace {

// A recipe is a few dozen keys; 1 MiB leaves room for comments and long lists.
constexpr size_t kMaxRecipeBytes = size_t{1} << 20;

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Where a value came from: "file:line" or "--set key=value".
struct Origins {
  std::string file;
  std::map<std::string, std::string> overridden;  // key path -> the --set argument
  std::string at(const std::string& key, const YAML::Node& node) const {
    auto it = overridden.find(key);
    if (it != overridden.end()) return "--set " + it->second;
    const auto mark = node.Mark();
    if (mark.line >= 0) return file + ":" + std::to_string(mark.line + 1);
    return file;
  }
};

class Loader {
 public:
  Loader(Recipe& recipe, Origins origins) : origins_(std::move(origins)) {
    for (auto& f : recipe_fields(recipe)) {
      for (size_t dot = f.path.find('.'); dot != std::string::npos; dot = f.path.find('.', dot + 1)) {
        sections_.insert(f.path.substr(0, dot));
      }
      all_keys_.push_back(f.path);
      fields_.emplace(f.path, std::move(f));
    }
  }

  void walk(const YAML::Node& node, const std::string& prefix) {
    std::map<std::string, YAML::Mark> keys;  // this mapping's keys so far, where each is written
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      const YAML::Node& value = item.second;
      const auto [first, fresh] = keys.emplace(key, item.first.Mark());
      if (!fresh) repeated(item.first.Mark(), first->second, path);
      auto field = fields_.find(path);
      if (field != fields_.end()) {
        assign(field->second, value, item.first);
      } else if (sections_.count(path)) {
        if (value.IsNull()) continue;  // a section whose keys are all commented out
        if (!value.IsMap()) {
          fail(item.first, path, cat("'", path, "' must be a section of keys, got ",
                                     value.IsScalar() ? "'" + value.Scalar() + "'" : std::string("a list")),
               cat("write '", path, ":' on a line of its own and its keys below it, indented: '  key: value'"));
        }
        walk(value, path);
      } else {
        unknown(item.first, path);
      }
    }
  }

  void check_required() const {
    for (const auto& [path, f] : fields_) {
      if (f.required && !seen_.count(path)) {
        throw ConfigError(cat(origins_.file, ": missing required key '", path, "' (", f.type,
                              f.allowed.empty() ? "" : ", " + f.allowed, ")"),
                          cat("add '", path, ": ...' to the recipe or pass --set ", path, "=..."), path);
      }
    }
  }

 private:
  [[noreturn]] void fail(const YAML::Node& at, const std::string& path, const std::string& what,
                         const std::string& hint) const {
    throw ConfigError(origins_.at(path, at) + ": " + what, hint, path);
  }

  void assign(FieldSpec& f, const YAML::Node& value, const YAML::Node& key_node) {
    seen_.insert(f.path);
    try {
      f.assign(value);
    } catch (const FieldError& e) {
      const YAML::Node& at = value.IsNull() ? key_node : value;  // an empty value is marked on the next line
      if (e.kind == FieldError::Kind::kType) {
        fail(at, f.path, cat("'", f.path, "' must be ", f.type, ", got '", e.what(), "'"),
             cat("write ", f.path, " as ", f.type, f.allowed.empty() ? "" : " (" + f.allowed + ")"));
      }
      fail(at, f.path, cat("'", f.path, "' = ", e.what(), " is not allowed; allowed: ", f.allowed),
           cat("set ", f.path, " to ", f.allowed));
    }
  }

  // YAML readers differ on a repeated key (yaml-cpp and PyYAML keep the last one; an override of it
  // would change the first, which the second then undoes), so a recipe may say each key once.
  [[noreturn]] void repeated(const YAML::Mark& again, const YAML::Mark& first, const std::string& path) const {
    const bool section = sections_.count(path) > 0;
    throw ConfigError(cat(origins_.file, ":", again.line + 1, ": ", section ? "section" : "key", " '", path,
                          "' appears a second time (first at line ", first.line + 1, ")"),
                      section ? cat("merge the two '", path, ":' sections into one")
                              : cat("keep one '", path, "' line and delete the other"),
                      path);
  }

  [[noreturn]] void unknown(const YAML::Node& key_node, const std::string& path) const {
    std::vector<std::string> candidates = all_keys_;
    candidates.insert(candidates.end(), sections_.begin(), sections_.end());
    const std::string near = nearest_key(path, candidates);
    fail(key_node, path,
         cat("unknown key '", path, "'", near.empty() ? "" : "; did you mean '" + near + "'?"),
         near.empty() ? "see recipes/README.md for the valid keys" : cat("rename it to '", near, "'"));
  }

  Origins origins_;
  std::map<std::string, FieldSpec> fields_;
  std::set<std::string> sections_;
  std::vector<std::string> all_keys_;
  std::set<std::string> seen_;
};

// Applies "a.b=value" onto the tree, creating sections as needed.
void apply_override(YAML::Node& root, const std::string& arg, Origins& origins) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(cat("--set ", arg, ": expected key.path=value"),
                      "write e.g. --set data.batch_size=64", arg);
  }
  const std::string path = arg.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(arg.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw ConfigError(cat("--set ", arg, ": the value is not valid YAML (", e.msg, ")"),
                      "quote strings that contain ':' or '#'", path);
  }
  if (value.IsNull() && arg.size() == eq + 1) value = YAML::Node(std::string());
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  // Walk with explicit node handles: yaml-cpp's operator[] on a temporary would not attach.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (next.IsDefined() && !next.IsNull() && !next.IsMap()) {
      throw ConfigError(cat("--set ", arg, ": '", parts[i], "' is not a section"),
                        "override a key inside a section, e.g. --set train.epochs=1", path);
    }
    if (!next.IsDefined() || next.IsNull()) {
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[parts[i]];
    }
    chain.push_back(next);
  }
  chain.back()[parts.back()] = value;
  origins.overridden[path] = arg;
}

Recipe load_node(YAML::Node root, Origins origins, const std::vector<std::string>& overrides) {
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    throw ConfigError(cat(origins.file, ": the recipe must be a mapping of sections (run:, data:, ...)"),
                      "see recipes/quickstart.yaml for the layout", "");
  }
  for (const auto& o : overrides) apply_override(root, o, origins);
  Recipe recipe;
  recipe.source = origins.file;
  Loader loader(recipe, origins);
  loader.walk(root, "");
  loader.check_required();
  return recipe;
}

// Notes where a YAML document's first node is (nothing for an empty document).
class FirstNode : public YAML::EventHandler {
 public:
  int line = -1;  // 0-based, -1 while the document holds nothing
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { note(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark& m) {
    if (line < 0) line = m.line;
  }
};

// The line of the first node of a document after the first one, or -1 when there is none (an
// empty document, as a trailing '---' makes, does not count). YAML::Load reads the first document
// and drops the rest without a word. yaml-cpp's LoadAll is no way to see them: on some inputs
// (a lone ',') it returns empty documents forever, so at most kMaxDocuments are looked at here.
int later_document_line(const std::string& yaml) {
  constexpr int kMaxDocuments = 64;
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  for (int d = 0; d < kMaxDocuments; ++d) {
    FirstNode doc;
    if (!parser.HandleNextDocument(doc)) return -1;
    if (d > 0 && doc.line >= 0) return doc.line;
  }
  return -1;
}

}  // namespace

std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  // Compare the last segment too, so "batchsize" finds "data.batch_size" from any section.
  const auto leaf = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
  for (const auto& c : candidates) {
    const auto c_leaf = c.substr(c.rfind('.') == std::string::npos ? 0 : c.rfind('.') + 1);
    const size_t d = std::min(edit_distance(key, c), edit_distance(leaf, c_leaf) + 1);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  const size_t limit = std::max<size_t>(2, leaf.size() / 3 + 1);
  return best_d <= limit ? best : std::string();
}

Recipe load_recipe_text(const std::string& yaml, const std::string& origin,
                        const std::vector<std::string>& overrides) {
  YAML::Node root;
  int later = -1;
  try {
    root = YAML::Load(yaml);
    later = later_document_line(yaml);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(cat(origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg),
                      "fix the YAML syntax (indent with spaces, 'key: value')", "");
  }
  if (later >= 0) {
    throw ConfigError(cat(origin, ":", later + 1, ": another YAML document (after '---'); a recipe is one document"),
                      "merge the documents into one, or keep one recipe per file", "");
  }
  return load_node(root, Origins{origin, {}}, overrides);
}

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  const auto where = "check the path; recipes/ holds the shipped recipes";
  std::string text;
  try {  // never yaml-cpp's LoadFile: it waits forever on a FIFO and reads a file of any size
    text = read_regular_file(path, kMaxRecipeBytes, "the recipe file", where);
  } catch (const Error& e) {
    throw ConfigError(e.message(), where, "");
  }
  return load_recipe_text(text, path, overrides);
}

std::string recipe_to_yaml(const Recipe& recipe) {
  Recipe copy = recipe;  // recipe_fields binds mutable references
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& f : recipe_fields(copy)) {
    const auto dot = f.path.find('.');
    root[f.path.substr(0, dot)][f.path.substr(dot + 1)] = f.value();
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> recipe_identity(const Recipe& recipe) {
  static const char* const kFree[] = {"data.batch_size", "data.global_batch_size", "data.workers", "data.prefetch",
                                      "data.feature_cache", "data.verify"};
  Recipe copy = recipe;
  std::vector<std::string> lines;
  for (const auto& f : recipe_fields(copy)) {
    const bool identity = starts_with(f.path, "model.") || starts_with(f.path, "loss.") ||
                          starts_with(f.path, "data.") || f.path == "run.seed";
    if (!identity || std::find(std::begin(kFree), std::end(kFree), f.path) != std::end(kFree)) continue;
    YAML::Emitter e;
    e << YAML::Flow << f.value();
    lines.push_back(f.path + ": " + e.c_str());
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string recipe_identity_hash(const Recipe& recipe) {
  Fnv1a h;
  for (const auto& line : recipe_identity(recipe)) {
    const std::string text = line + "\n";
    h.update(text.data(), text.size());
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h.value()));
  return buf;
}

std::vector<std::string> recipe_identity_changes(const Recipe& now, const std::string& then_yaml,
                                                 const std::string& origin) {
  const auto then = recipe_identity(load_recipe_text(then_yaml, origin));
  std::vector<std::string> changes;
  for (const auto& line : recipe_identity(now)) {
    const auto key = line.substr(0, line.find(": "));
    auto it = std::find_if(then.begin(), then.end(), [&](const std::string& l) { return starts_with(l, key + ": "); });
    const std::string before = it == then.end() ? "(absent)" : it->substr(key.size() + 2);
    if (it == then.end() || *it != line) changes.push_back(cat(key, ": ", before, " -> ", line.substr(key.size() + 2)));
  }
  return changes;
}

std::string recipe_table(const Recipe& recipe) {
  Recipe copy = recipe;
  const auto fields = recipe_fields(copy);
  size_t width = 0;
  for (const auto& f : fields) width = std::max(width, f.path.size());
  std::ostringstream out;
  for (const auto& f : fields) {
    YAML::Emitter e;
    e << YAML::Flow << f.value();
    out << "  " << f.path << std::string(width - f.path.size() + 2, ' ') << e.c_str() << "\n";
  }
  return out.str();
}

std::string recipe_keys_markdown() {
  Recipe defaults;
  std::ostringstream out;
  out << "| key | type | allowed | default |\n|---|---|---|---|\n";
  for (const auto& f : recipe_fields(defaults)) {
    YAML::Emitter e;
    e << YAML::Flow << f.value();
    std::string def = f.required ? "(required)" : e.c_str();
    if (def.empty() || def == "\"\"" || def == "~") def = "(empty)";
    out << "| `" << f.path << "` | " << f.type << " | " << (f.allowed.empty() ? "any" : f.allowed)
        << " | `" << def << "` |\n";
  }
  return out.str();
}

}  // namespace satclip::core
