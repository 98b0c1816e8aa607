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

// A Python value as a checkpoint holds it: None, bool, int, float, str, a list or tuple, a dict
// with string keys, or a tensor. Reading keeps the plain values of a dict (kOther stands for
// anything else); writing takes the whole tree.
struct PyValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kList, kDict, kTensor, kOther } kind = Kind::kNone;
  int64_t i = 0;  // bool, int
  double f = 0;   // float
  std::string s;  // str
  std::vector<PyValue> items;                            // list (written as a list)
  std::vector<std::pair<std::string, PyValue>> entries;  // dict, in order
  torch::Tensor tensor;

  static PyValue none() { return {}; }
  static PyValue boolean(bool b) { PyValue v; v.kind = Kind::kBool; v.i = b; return v; }
  static PyValue integer(int64_t x) { PyValue v; v.kind = Kind::kInt; v.i = x; return v; }
  static PyValue real(double x) { PyValue v; v.kind = Kind::kFloat; v.f = x; return v; }
  static PyValue string(std::string x) { PyValue v; v.kind = Kind::kString; v.s = std::move(x); return v; }
  static PyValue dict() { PyValue v; v.kind = Kind::kDict; return v; }
  static PyValue list() { PyValue v; v.kind = Kind::kList; return v; }
  static PyValue of(torch::Tensor t) { PyValue v; v.kind = Kind::kTensor; v.tensor = std::move(t); return v; }
  PyValue& add(std::string key, PyValue value) { entries.emplace_back(std::move(key), std::move(value)); return *this; }
  // How Python would print a plain value (for messages): 'analytic', 10, 0.5, True, None.
  std::string repr() const;
};

// The entries of the dict stored in `file` (read through its checked descriptor), in file order.
// A dict whose values are dicts (e.g. {"state_dict": {...}}) is returned flattened only at its
// first level: the caller picks the entry. Throws satclip::Error naming the file on anything else.
//
// The unpickler is an allow-list: the only globals a file may name are collections.OrderedDict,
// torch._utils._rebuild_tensor(_v2) / _rebuild_parameter and the torch.*Storage types; anything
// else is refused where it is named, and nothing in a file is ever run.
struct TorchFileEntry {
  std::string key;
  torch::Tensor tensor;                                   // defined for tensor values
  std::vector<std::pair<std::string, torch::Tensor>> dict;  // a nested dict's tensors (string keys)
  std::vector<std::pair<std::string, PyValue>> values;     // a nested dict's plain values (string keys)
  bool is_dict = false;                                    // the value is a dict
  PyValue value;                                           // a plain value (None, bool, int, float, str)
};
std::vector<TorchFileEntry> read_torch_file(const RegularFile& file);

// Writes `tensors` as torch.save would write an OrderedDict of them (zip format, pickle protocol
// 2, only globals that torch.load(weights_only=True) accepts). Tensors are stored contiguous.
void write_torch_file(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

// Writes `root` (a dict) as torch.save would write the same Python dict (plain dicts, lists,
// tensors; a tensor given twice is stored once, so the two share storage after torch.load).
void write_torch_file(const std::string& path, const PyValue& root);

}  // namespace satclip::core
