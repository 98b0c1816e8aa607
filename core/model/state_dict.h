// PyTorch state dicts in and out: files written by torch.save (zip format) holding a dict or an
// OrderedDict of tensors, optionally wrapped under "state_dict" or "model".
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace satclip::core {

using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// Reads a state dict file; errors name the file and what was found instead. `hint`: how to fix a
// file that cannot be opened (a recipe's weights by default).
StateDict read_state_dict(const std::string& path, const std::string& hint = "check the path in the recipe");

struct TorchFileEntry;
// The state dict among a torch file's entries (read_torch_file): a "state_dict" or "model" dict,
// else the top-level tensors. Errors name `path`.
StateDict state_dict_of(const std::vector<TorchFileEntry>& entries, const std::string& path);

// `module`'s parameters, then its buffers, by full dotted name (the tensors themselves, not copies).
StateDict module_state(const torch::nn::Module& module);

// Writes `module`'s parameters and buffers (full dotted names, CPU, contiguous) as a torch.save
// compatible file that Python's torch.load / load_state_dict(strict=True) accepts. Atomic
// (temporary file + rename).
void save_state_dict(const torch::nn::Module& module, const std::string& path);

struct LoadOptions {
  std::string target_prefix;               // where in the module the file's names go, e.g. "image_encoder.visual."
  std::vector<std::string> ignore;         // source name prefixes to skip, e.g. {"fc."}
  std::vector<std::string> strip;          // source name prefixes to remove first, e.g. {"module."}
  bool strict = false;                     // throw on any missing, unexpected or mis-shaped entry
};

struct LoadReport {
  int64_t loaded = 0, ignored = 0;
  std::vector<std::string> missing;        // in the module (under target_prefix), not in the file
  std::vector<std::string> unexpected;     // in the file, not in the module
  std::vector<std::string> mismatched;     // "name: file [..] vs model [..]"
  bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string summary() const;
};

// Copies matching entries of `state` into `module`; reports the rest (and throws when strict).
LoadReport load_state_dict(torch::nn::Module& module, const StateDict& state, const LoadOptions& options,
                           const std::string& origin = "state dict");

}  // namespace satclip::core
