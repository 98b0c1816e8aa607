#include "core/model/torch_pickle.h"

#include <caffe2/serialize/inline_container.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>

#include "core/base/error.h"

namespace satclip::core {
namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// A Python object as far as state dicts need: None, bool, int, float, str, tuple/list, dict
// (insertion-ordered), a global (module.name), a storage or a tensor; `mark` for the stack.
struct Value {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kTensor, kMark } kind;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<ValuePtr> items;                        // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // dict
  torch::Tensor tensor;                               // storage (1-D) or tensor
};

ValuePtr make(Value::Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}

torch::ScalarType storage_dtype(const std::string& name, const std::string& path) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"FloatStorage", torch::kFloat},    {"DoubleStorage", torch::kDouble}, {"HalfStorage", torch::kHalf},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kLong}, {"IntStorage", torch::kInt},
      {"ShortStorage", torch::kShort},    {"CharStorage", torch::kChar},     {"ByteStorage", torch::kByte},
      {"BoolStorage", torch::kBool}};
  auto it = types.find(name);
  SATCLIP_CHECK(it != types.end(), cat(path, ": unsupported storage type torch.", name), "save float or integer tensors");
  return it->second;
}

class Unpickler {
 public:
  Unpickler(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path)
      : reader_(reader), path_(path) {
    auto [data, size] = reader_.getRecord("data.pkl");
    bytes_.assign(static_cast<const char*>(data.get()), size);
  }

  ValuePtr run() {
    for (;;) {
      const uint8_t op = u8();
      switch (op) {
        case 0x80: u8(); break;                                   // PROTO
        case 0x95: take(8); break;                                // FRAME
        case 0x94: memo_[int64_t(memo_.size())] = top(); break;   // MEMOIZE
        case '.': return pop();                                   // STOP
        case '(': stack_.push_back(make(Value::Kind::kMark)); break;
        case '}': stack_.push_back(make(Value::Kind::kDict)); break;
        case ']': stack_.push_back(make(Value::Kind::kList)); break;
        case ')': stack_.push_back(make(Value::Kind::kTuple)); break;
        case 'N': stack_.push_back(make(Value::Kind::kNone)); break;
        case 0x88: case 0x89: {
          auto v = make(Value::Kind::kBool);
          v->i = op == 0x88;
          stack_.push_back(v);
          break;
        }
        case 'J': push_int(int32_t(le(4))); break;
        case 'K': push_int(u8()); break;
        case 'M': push_int(int64_t(le(2))); break;
        case 0x8a: {  // LONG1
          const int n = u8();
          uint64_t raw = le(n);
          int64_t v = int64_t(raw);
          if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) v = int64_t(raw | (~uint64_t(0) << (8 * n)));
          push_int(v);
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | u8();
          auto v = make(Value::Kind::kFloat);
          std::memcpy(&v->f, &bits, 8);
          stack_.push_back(v);
          break;
        }
        case 'X': push_string(take(le(4))); break;    // BINUNICODE
        case 0x8c: push_string(take(u8())); break;    // SHORT_BINUNICODE
        case 'T': push_string(take(le(4))); break;    // BINSTRING
        case 'U': push_string(take(u8())); break;     // SHORT_BINSTRING
        case 'c': {                                   // GLOBAL
          auto v = make(Value::Kind::kGlobal);
          const std::string module = line();
          v->s = module + "." + line();
          stack_.push_back(v);
          break;
        }
        case 'q': memo_[u8()] = top(); break;
        case 'r': memo_[int64_t(le(4))] = top(); break;
        case 'h': stack_.push_back(memo_.at(u8())); break;
        case 'j': stack_.push_back(memo_.at(int64_t(le(4)))); break;
        case 't': {
          auto v = make(Value::Kind::kTuple);
          v->items = pop_to_mark();
          stack_.push_back(v);
          break;
        }
        case 0x85: case 0x86: case 0x87: {
          auto v = make(Value::Kind::kTuple);
          const int n = op - 0x84;
          v->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          stack_.push_back(v);
          break;
        }
        case 's': {
          auto value = pop(), key = pop();
          top()->entries.emplace_back(key, value);
          break;
        }
        case 'u': {
          auto items = pop_to_mark();
          for (size_t k = 0; k + 1 < items.size(); k += 2) top()->entries.emplace_back(items[k], items[k + 1]);
          break;
        }
        case 'a': {
          auto v = pop();
          top()->items.push_back(v);
          break;
        }
        case 'e': {
          auto items = pop_to_mark();
          for (auto& v : items) top()->items.push_back(v);
          break;
        }
        case 'Q': stack_.push_back(load_storage(pop())); break;  // BINPERSID
        case 'R': {                                              // REDUCE
          auto args = pop(), callable = pop();
          stack_.push_back(reduce(callable, args));
          break;
        }
        case 'b': pop(); break;  // BUILD: object state (OrderedDict._metadata), not needed
        default:
          SATCLIP_FAIL(cat(path_, ": unsupported pickle opcode 0x", std::hex, int(op), " in data.pkl"),
                       "save the file with torch.save(state_dict, path) (PyTorch 1.6 or later)");
      }
    }
  }

 private:
  uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
  std::string take(size_t n) {
    SATCLIP_CHECK(pos_ + n <= bytes_.size(), cat(path_, ": data.pkl ends early"), "the file is truncated");
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t le(int n) {
    const std::string b = take(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(b[k]);
    return v;
  }
  std::string line() {
    const auto end = bytes_.find('\n', pos_);
    SATCLIP_CHECK(end != std::string::npos, cat(path_, ": bad GLOBAL in data.pkl"), "");
    std::string s = bytes_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  void push_int(int64_t v) {
    auto p = make(Value::Kind::kInt);
    p->i = v;
    stack_.push_back(p);
  }
  void push_string(std::string s) {
    auto p = make(Value::Kind::kString);
    p->s = std::move(s);
    stack_.push_back(p);
  }
  ValuePtr top() {
    SATCLIP_CHECK(!stack_.empty(), cat(path_, ": malformed data.pkl"), "");
    return stack_.back();
  }
  ValuePtr pop() {
    auto v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<ValuePtr> pop_to_mark() {
    std::vector<ValuePtr> items;
    while (top()->kind != Value::Kind::kMark) items.insert(items.begin(), pop());
    pop();
    return items;
  }

  ValuePtr load_storage(const ValuePtr& pid) {
    // ('storage', torch.<Type>Storage, key, location, numel)
    SATCLIP_CHECK(pid->kind == Value::Kind::kTuple && pid->items.size() >= 5, cat(path_, ": bad storage id"), "");
    const std::string key = pid->items[2]->s;
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      const std::string type = pid->items[1]->s.substr(pid->items[1]->s.rfind('.') + 1);
      const auto dtype = storage_dtype(type, path_);
      const int64_t numel = pid->items[4]->i;
      auto [data, size] = reader_.getRecord("data/" + key);
      auto t = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
      SATCLIP_CHECK(size_t(numel) * t.element_size() == size, cat(path_, ": storage ", key, " has the wrong size"),
                    "the file is damaged");
      std::memcpy(t.data_ptr(), data.get(), size);
      it = storages_.emplace(key, t).first;
    }
    auto v = make(Value::Kind::kTensor);
    v->tensor = it->second;
    return v;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    const std::string& name = callable->s;
    if (name == "collections.OrderedDict") return make(Value::Kind::kDict);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      const auto& a = args->items;
      std::vector<int64_t> size, stride;
      for (auto& x : a[2]->items) size.push_back(x->i);
      for (auto& x : a[3]->items) stride.push_back(x->i);
      auto v = make(Value::Kind::kTensor);
      v->tensor = a[0]->tensor.as_strided(size, stride, a[1]->i);
      return v;
    }
    if (name == "torch._utils._rebuild_parameter") return args->items.at(0);
    SATCLIP_FAIL(cat(path_, ": holds a ", name, " object; expected a dict of tensors"),
                 "save model.state_dict(), not the model object");
  }

  caffe2::serialize::PyTorchStreamReader& reader_;
  std::string path_, bytes_;
  size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::map<int64_t, ValuePtr> memo_;
  std::map<std::string, torch::Tensor> storages_;
};

std::vector<std::pair<std::string, torch::Tensor>> tensor_items(const Value& dict) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [k, v] : dict.entries) {
    if (k->kind == Value::Kind::kString && v->kind == Value::Kind::kTensor) out.emplace_back(k->s, v->tensor);
  }
  return out;
}

}  // namespace

std::vector<TorchFileEntry> read_torch_file(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception& e) {
    std::string what = e.what();
    SATCLIP_FAIL(cat(path, ": not a PyTorch state dict file written by torch.save (",
                     what.substr(0, what.find('\n')), ")"),
                 "save the weights in Python with torch.save(model.state_dict(), path)");
  }
  Unpickler unpickler(*reader, path);
  const ValuePtr root = unpickler.run();
  SATCLIP_CHECK(root->kind == Value::Kind::kDict, cat(path, ": holds no dict"),
                "save model.state_dict() (a dict of name -> tensor)");
  std::vector<TorchFileEntry> out;
  for (const auto& [k, v] : root->entries) {
    if (k->kind != Value::Kind::kString) continue;
    TorchFileEntry e;
    e.key = k->s;
    if (v->kind == Value::Kind::kTensor) {
      e.tensor = v->tensor;
    } else if (v->kind == Value::Kind::kDict) {
      e.dict = tensor_items(*v);
    } else {
      continue;  // numbers, strings: checkpoint metadata
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace satclip::core
