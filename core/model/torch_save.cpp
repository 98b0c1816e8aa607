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

void write_records(caffe2::serialize::PyTorchStreamWriter& writer,
                   const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  PickleWriter p;
  p.op(char(0x80));
  p.op(2);
  p.empty_ordered_dict();
  p.op('(');
  std::vector<torch::Tensor> storages;
  for (const auto& [name, tensor] : tensors) {
    const auto t = tensor.detach().cpu().contiguous();
    const std::string key = std::to_string(storages.size());
    storages.push_back(t);
    p.str(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id ('storage', type, key, location, numel)
    p.str("storage");
    p.global("torch", storage_name(t.scalar_type()));
    p.str(key);
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
  p.op('u');
  p.op('.');
  writer.writeRecord("data.pkl", p.bytes.data(), p.bytes.size());
  const std::string order = "little";
  writer.writeRecord("byteorder", order.data(), order.size());
  for (size_t i = 0; i < storages.size(); ++i) {
    writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(),
                       size_t(storages[i].numel()) * storages[i].element_size());
  }
  writer.writeEndOfFile();
}

}  // namespace

void write_torch_file(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  // Our own file and write function: PyTorchStreamWriter throws from its destructor when a write
  // failed (a full disk would terminate the process), so the function reports success to it,
  // remembers the first error, and the error is raised here, naming the file, once it is done.
  std::FILE* file = std::fopen(path.c_str(), "wb");
  SATCLIP_CHECK(file != nullptr, cat(path, ": cannot create: ", std::strerror(errno)),
                "check that the folder exists and is writable");
  int error = 0;
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) -> size_t {
      if (error == 0 && n > 0 && std::fwrite(data, 1, n, file) != n) error = errno != 0 ? errno : EIO;
      return n;
    });
    write_records(writer, tensors);
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

}  // namespace satclip::core
