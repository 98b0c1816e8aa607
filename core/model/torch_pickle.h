// Reading the tensors of a torch.save file (zip format) without Python.
//
// libtorch's own unpickler turns collections.OrderedDict into None, and state dicts are saved as
// OrderedDicts, so satclip reads data.pkl with this small unpickler: the opcode subset that
// torch.save emits for (Ordered)dicts of tensors (protocol 2, plus the protocol 4 framing ops),
// with storages loaded from the archive's data/<key> records.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "core/base/fs_util.h"

namespace satclip::core {

// The (name, tensor) pairs of the dict stored in `file` (read through its checked descriptor), in
// file order. A dict whose values are dicts (e.g. {"state_dict": {...}}) is returned flattened only
// at its first level: the caller picks the entry. Throws satclip::Error naming the file on anything
// else.
struct TorchFileEntry {
  std::string key;
  torch::Tensor tensor;                                   // defined for tensor values
  std::vector<std::pair<std::string, torch::Tensor>> dict;  // for nested dicts of tensors
};
std::vector<TorchFileEntry> read_torch_file(const RegularFile& file);

// Writes `tensors` as torch.save would write an OrderedDict of them (zip format, pickle protocol
// 2, only globals that torch.load(weights_only=True) accepts). Tensors are stored contiguous.
void write_torch_file(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

}  // namespace satclip::core
