// Writing torch.save-compatible files (see torch_pickle.h): an OrderedDict of tensors in the zip
// format with pickle protocol 2, using only globals torch.load(weights_only=True) accepts.
#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "core/base/error.h"
#include "core/model/torch_pickle.h"

namespace satclip::core {

namespace {

// Pickle protocol 2 writer for an OrderedDict of tensors.
class PickleWriter {
 public:
  std::string bytes;
  void op(char c) { bytes += c; }
  void global(const std::string& module, const std::string& name) { bytes += "c" + module + "\n" + name + "\n"; }
  void str(const std::string& s) {
    op('X');
    le(s.size(), 4);
    bytes += s;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le(uint64_t(uint32_t(int32_t(v))), 4);
    } else {
      op(char(0x8a));
      op(8);
      le(uint64_t(v), 8);
    }
  }
  void real(double v) {  // BINFLOAT: big-endian IEEE 754 double
    op('G');
    uint64_t bits = 0;
    std::memcpy(&bits, &v, 8);
    for (int k = 7; k >= 0; --k) bytes += char((bits >> (8 * k)) & 0xFF);
  }
  void int_tuple(c10::IntArrayRef values) {
    op('(');
    for (int64_t v : values) integer(v);
    op('t');
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }

 private:
  void le(uint64_t v, int n) {
    for (int k = 0; k < n; ++k) bytes += char((v >> (8 * k)) & 0xFF);
  }
};

std::string storage_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return "FloatStorage";
    case torch::kDouble: return "DoubleStorage";
    case torch::kHalf: return "HalfStorage";
    case torch::kBFloat16: return "BFloat16Storage";
    case torch::kLong: return "LongStorage";
    case torch::kInt: return "IntStorage";
    case torch::kShort: return "ShortStorage";
    case torch::kChar: return "CharStorage";
    case torch::kByte: return "ByteStorage";
    case torch::kBool: return "BoolStorage";
    default: SATCLIP_FAIL(cat("cannot save a tensor of dtype ", c10::toString(t)), "");
  }
}

// Writes `v` into the pickle; tensors' storages are collected in `storages` (one per distinct
// tensor data, so a tensor given twice is stored once and shared after torch.load).
class TreeWriter {
 public:
  PickleWriter p;
  std::vector<torch::Tensor> storages;

  void value(const PyValue& v, bool ordered = false) {
    using K = PyValue::Kind;
    switch (v.kind) {
      case K::kNone: p.op('N'); break;
      case K::kBool: p.op(v.i ? char(0x88) : char(0x89)); break;
      case K::kInt: p.integer(v.i); break;
      case K::kFloat: p.real(v.f); break;
      case K::kString: p.str(v.s); break;
      case K::kTensor: tensor(v.tensor); break;
      case K::kList:
        p.op(']');
        if (!v.items.empty()) {
          p.op('(');
          for (const auto& item : v.items) value(item);
          p.op('e');
        }
        break;
      case K::kDict:
        if (ordered) {
          p.empty_ordered_dict();
        } else {
          p.op('}');
        }
        if (!v.entries.empty()) {
          p.op('(');
          for (const auto& [key, item] : v.entries) {
            p.str(key);
            value(item);
          }
          p.op('u');
        }
        break;
      default: SATCLIP_FAIL("cannot save a Python object of this kind", "");
    }
  }

 private:
  void tensor(const torch::Tensor& tensor) {
    const auto t = tensor.detach().cpu().contiguous();
    size_t index = storages.size();
    for (size_t i = 0; i < storages.size(); ++i) {
      if (storages[i].data_ptr() == t.data_ptr() && storages[i].sizes() == t.sizes() &&
          storages[i].scalar_type() == t.scalar_type()) {
        index = i;
      }
    }
    if (index == storages.size()) storages.push_back(t);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id ('storage', type, key, location, numel)
    p.str("storage");
    p.global("torch", storage_name(t.scalar_type()));
    p.str(std::to_string(index));
    p.str("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.op(char(0x89));  // requires_grad False
    p.empty_ordered_dict();
    p.op('t');
    p.op('R');
  }
};

void write_records(caffe2::serialize::PyTorchStreamWriter& writer, const PyValue& root, bool ordered) {
  TreeWriter w;
  w.p.op(char(0x80));
  w.p.op(2);
  w.value(root, ordered);
  w.p.op('.');
  writer.writeRecord("data.pkl", w.p.bytes.data(), w.p.bytes.size());
  const std::string order = "little";
  writer.writeRecord("byteorder", order.data(), order.size());
  for (size_t i = 0; i < w.storages.size(); ++i) {
    writer.writeRecord("data/" + std::to_string(i), w.storages[i].data_ptr(),
                       size_t(w.storages[i].numel()) * w.storages[i].element_size());
  }
  writer.writeEndOfFile();
}

// Our own file and write function: PyTorchStreamWriter throws from its destructor when a write
// failed (a full disk would terminate the process), so the function reports success to it,
// remembers the first error, and the error is raised here, naming the file, once it is done.
void write_file(const std::string& path, const PyValue& root, bool ordered) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  SATCLIP_CHECK(file != nullptr, cat(path, ": cannot create: ", std::strerror(errno)),
                "check that the folder exists and is writable");
  int error = 0;
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) -> size_t {
      if (error == 0 && n > 0 && std::fwrite(data, 1, n, file) != n) error = errno != 0 ? errno : EIO;
      return n;
    });
    write_records(writer, root, ordered);
  } catch (...) {  // e.g. a dtype torch.save cannot store
    std::fclose(file);
    std::remove(path.c_str());
    throw;
  }
  if (std::fclose(file) != 0 && error == 0) error = errno != 0 ? errno : EIO;
  if (error != 0) {
    std::remove(path.c_str());
    SATCLIP_FAIL(cat(path, ": write failed: ", std::strerror(error)), "free space or fix the folder's permissions");
  }
}

}  // namespace

void write_torch_file(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  PyValue root = PyValue::dict();
  for (const auto& [name, t] : tensors) root.add(name, PyValue::of(t));
  write_file(path, root, /*ordered=*/true);
}

void write_torch_file(const std::string& path, const PyValue& root) {
  SATCLIP_CHECK(root.kind == PyValue::Kind::kDict, cat(path, ": only a dict is written"), "");
  write_file(path, root, /*ordered=*/false);
}

}  // namespace satclip::core
