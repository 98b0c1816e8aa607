#include "core/model/state_dict.h"

#include <map>
#include <sstream>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/text.h"
#include "core/model/torch_pickle.h"

namespace satclip::core {
namespace {

std::string shape(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

std::string list_some(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 8; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > 8) out += cat(", ... (", v.size(), " in all)");
  return out;
}

}  // namespace

StateDict read_state_dict(const std::string& path, const std::string& hint) {
  const RegularFile file(path, "the weights file", hint);
  return state_dict_of(read_torch_file(file), path);
}

StateDict state_dict_of(const std::vector<TorchFileEntry>& entries, const std::string& path) {
  // Unwrap {"state_dict": {...}} / {"model": {...}} checkpoints.
  for (const auto& e : entries) {
    if ((e.key == "state_dict" || e.key == "model") && !e.dict.empty()) return e.dict;
  }
  StateDict out;
  for (const auto& e : entries) {
    if (e.tensor.defined()) out.emplace_back(e.key, e.tensor);
  }
  SATCLIP_CHECK(!out.empty(), cat(path, ": holds no named tensors"),
                "save model.state_dict(), a dict of name -> tensor");
  return out;
}

StateDict module_state(const torch::nn::Module& module) {
  StateDict tensors;
  for (const auto& p : module.named_parameters(true)) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) tensors.emplace_back(b.key(), b.value());
  return tensors;
}

void save_state_dict(const torch::nn::Module& module, const std::string& path) {
  // Written whole or not at all: a full disk or a crash leaves the earlier file.
  replace_file(path, [&module](const std::string& tmp) { write_torch_file(tmp, module_state(module)); });
}

std::string LoadReport::summary() const {
  std::string s = cat(loaded, " tensors loaded");
  if (ignored) s += cat(", ", ignored, " ignored");
  if (!missing.empty()) s += cat("; missing from the file: ", list_some(missing));
  if (!unexpected.empty()) s += cat("; not in the model: ", list_some(unexpected));
  if (!mismatched.empty()) s += cat("; shape mismatch: ", list_some(mismatched));
  return s;
}

LoadReport load_state_dict(torch::nn::Module& module, const StateDict& state, const LoadOptions& o,
                           const std::string& origin) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : module.named_parameters(true)) {
    if (starts_with(p.key(), o.target_prefix)) targets.emplace(p.key(), p.value());
  }
  for (const auto& b : module.named_buffers(true)) {
    if (starts_with(b.key(), o.target_prefix)) targets.emplace(b.key(), b.value());
  }
  LoadReport r;
  std::map<std::string, bool> seen;
  torch::NoGradGuard no_grad;
  for (auto [name, tensor] : state) {
    for (const auto& s : o.strip) {
      if (starts_with(name, s)) name = name.substr(s.size());
    }
    bool skip = false;
    for (const auto& ig : o.ignore) skip = skip || starts_with(name, ig);
    if (skip) {
      ++r.ignored;
      continue;
    }
    const std::string full = o.target_prefix + name;
    auto it = targets.find(full);
    if (it == targets.end()) {
      r.unexpected.push_back(name);
      continue;
    }
    seen[full] = true;
    if (it->second.sizes() != tensor.sizes()) {
      r.mismatched.push_back(cat(full, ": file ", shape(tensor), " vs model ", shape(it->second)));
      continue;
    }
    it->second.copy_(tensor.to(it->second.scalar_type()));
    ++r.loaded;
  }
  for (const auto& [name, t] : targets) {
    if (!seen.count(name)) r.missing.push_back(name);
  }
  SATCLIP_CHECK(!o.strict || r.clean(), cat(origin, ": ", r.summary()),
                "the file does not fit this model configuration; check model.* in the recipe, or load "
                "non-strictly to keep the matching tensors");
  return r;
}

}  // namespace satclip::core
