#include "core/base/text.h"
#include "core/model/pickle_ops.h"
#include "core/model/torch_pickle.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <map>
#include <algorithm>
#include <memory>
#include <set>

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
  int depth = 0;                                      // nesting depth of containers below
};

// A state dict nests a few levels; a crafted pickle could nest a million (and overflow the stack
// when freed, or in any recursive walk).
constexpr int kMaxNesting = 64;

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
    auto [data, size] = record("data.pkl");
    bytes_.assign(static_cast<const char*>(data.get()), size);
  }

  ValuePtr run() {
    for (;;) {
      const uint8_t op = u8();
      switch (op) {
        case kProto: u8(); break;                                   // PROTO
        case kFrame: take(8); break;                                // FRAME
        case kMemoize: memo_[int64_t(memo_.size())] = top(); break;   // MEMOIZE
        case kStop: return pop();                                   // STOP
        case kMark: stack_.push_back(make(Value::Kind::kMark)); break;
        case kEmptyDict: stack_.push_back(make(Value::Kind::kDict)); break;
        case kEmptyList: stack_.push_back(make(Value::Kind::kList)); break;
        case kEmptyTuple: stack_.push_back(make(Value::Kind::kTuple)); break;
        case kNone: stack_.push_back(make(Value::Kind::kNone)); break;
        case kNewTrue: case kNewFalse: {
          auto v = make(Value::Kind::kBool);
          v->i = op == 0x88;
          stack_.push_back(v);
          break;
        }
        case kBinInt: push_int(int32_t(le(4))); break;
        case kBinInt1: push_int(u8()); break;
        case kBinInt2: push_int(int64_t(le(2))); break;
        case kLong1: {  // LONG1
          const int n = u8();
          SATCLIP_CHECK(n <= 8, cat(path_, ": data.pkl holds a ", n, "-byte integer"), "the file is damaged or not a state dict");
          uint64_t raw = le(n);
          int64_t v = int64_t(raw);
          if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) v = int64_t(raw | (~uint64_t(0) << (8 * n)));
          push_int(v);
          break;
        }
        case kBinFloat: {  // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | u8();
          auto v = make(Value::Kind::kFloat);
          std::memcpy(&v->f, &bits, 8);
          stack_.push_back(v);
          break;
        }
        case kBinUnicode: push_string(take(le(4))); break;    // BINUNICODE
        case kShortBinUnicode: push_string(take(u8())); break;    // SHORT_BINUNICODE
        case kBinString: push_string(take(le(4))); break;    // BINSTRING
        case kShortBinString: push_string(take(u8())); break;     // SHORT_BINSTRING
        case kGlobal: {                                   // GLOBAL
          auto v = make(Value::Kind::kGlobal);
          const std::string module = line();
          v->s = module + "." + line();
          check_allowed(v->s);
          stack_.push_back(v);
          break;
        }
        case kBinPut: memo_[u8()] = top(); break;
        case kLongBinPut: memo_[int64_t(le(4))] = top(); break;
        case kBinGet: stack_.push_back(memo(u8())); break;
        case kLongBinGet: stack_.push_back(memo(int64_t(le(4)))); break;
        case kTuple: {
          auto v = make(Value::Kind::kTuple);
          for (auto& item : pop_to_mark()) adopt(*v, item);
          stack_.push_back(v);
          break;
        }
        case kTuple1: case kTuple2: case kTuple3: {
          auto v = make(Value::Kind::kTuple);
          const int n = op - 0x84;
          SATCLIP_CHECK(stack_.size() >= size_t(n), cat(path_, ": malformed data.pkl (a tuple of ", n, " from a stack of ",
                                                        stack_.size(), ")"), "the file is damaged or not a state dict");
          for (auto it = stack_.end() - n; it != stack_.end(); ++it) adopt(*v, *it);
          stack_.resize(stack_.size() - n);
          stack_.push_back(v);
          break;
        }
        case kSetItem: {
          auto value = pop(), key = pop();
          add_entry(*top(), key, value);
          break;
        }
        case kSetItems: {
          auto items = pop_to_mark();
          for (size_t k = 0; k + 1 < items.size(); k += 2) add_entry(*top(), items[k], items[k + 1]);
          break;
        }
        case kAppend: {
          auto v = pop();
          adopt(*top(), v);
          break;
        }
        case kAppends: {
          auto items = pop_to_mark();
          for (auto& v : items) adopt(*top(), v);
          break;
        }
        case kBinPersId: stack_.push_back(load_storage(pop())); break;  // BINPERSID
        case kReduce: {                                              // REDUCE
          auto args = pop(), callable = pop();
          stack_.push_back(reduce(callable, args));
          break;
        }
        case kBuild: pop(); break;  // BUILD: object state (OrderedDict._metadata), not needed
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
    SATCLIP_CHECK(!stack_.empty(), cat(path_, ": malformed data.pkl (stack underflow at byte ", pos_, ")"),
                  "the file is damaged or not a state dict");
    return stack_.back();
  }
  // Adds `child` to the container `parent` (items), enforcing kMaxNesting.
  void adopt(Value& parent, const ValuePtr& child) {
    nest(parent, *child);
    parent.items.push_back(child);
  }
  void add_entry(Value& dict, const ValuePtr& key, const ValuePtr& value) {
    nest(dict, *key);
    nest(dict, *value);
    dict.entries.emplace_back(key, value);
  }
  void nest(Value& parent, const Value& child) {
    parent.depth = std::max(parent.depth, child.depth + 1);
    SATCLIP_CHECK(parent.depth <= kMaxNesting,
                  cat(path_, ": malformed data.pkl (containers nested more than ", kMaxNesting, " deep)"),
                  "the file is damaged or crafted; a state dict nests a few levels");
  }

  ValuePtr memo(int64_t key) {
    auto it = memo_.find(key);
    SATCLIP_CHECK(it != memo_.end(), cat(path_, ": malformed data.pkl (memo entry ", key, " was never stored)"),
                  "the file is damaged or not a state dict");
    return it->second;
  }
  // A record of the zip archive; a missing or unreadable one is an error naming the file.
  std::tuple<at::DataPtr, size_t> record(const std::string& name) {
    try {
      return reader_.getRecord(name);
    } catch (const std::exception& e) {
      std::string what = e.what();
      SATCLIP_FAIL(cat(path_, ": cannot read record '", name, "' (", what.substr(0, what.find('\n')), ")"),
                   "the file is truncated or damaged; download or save it again");
    }
  }
  const Value& item(const ValuePtr& v, size_t k, Value::Kind kind, const char* what) {
    SATCLIP_CHECK(v->kind == Value::Kind::kTuple && k < v->items.size() && v->items[k]->kind == kind,
                  cat(path_, ": malformed ", what, " in data.pkl (argument ", k, ")"), "the file is damaged or not a state dict");
    return *v->items[k];
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
    const std::string key = item(pid, 2, Value::Kind::kString, "storage id").s;
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      const std::string& global = item(pid, 1, Value::Kind::kGlobal, "storage id").s;
      const auto dtype = storage_dtype(global.substr(global.rfind('.') + 1), path_);
      const int64_t numel = item(pid, 4, Value::Kind::kInt, "storage id").i;
      auto [data, size] = record("data/" + key);
      const auto element = static_cast<int64_t>(c10::elementSize(dtype));
      // Check the claimed size against the record before allocating anything.
      SATCLIP_CHECK(numel >= 0 && numel <= int64_t(size) / element && uint64_t(numel * element) == size,
                    cat(path_, ": storage ", key, " claims ", numel, " elements but its record holds ", size, " bytes"),
                    "the file is damaged");
      auto t = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
      if (size) std::memcpy(t.data_ptr(), data.get(), size);
      it = storages_.emplace(key, t).first;
    }
    auto v = make(Value::Kind::kTensor);
    v->tensor = it->second;
    return v;
  }

  // A view of a storage as the file describes it; sizes, strides and offset must stay inside it.
  torch::Tensor rebuild_tensor(const ValuePtr& args) {
    const auto& storage = item(args, 0, Value::Kind::kTensor, "tensor").tensor;
    const int64_t offset = item(args, 1, Value::Kind::kInt, "tensor").i;
    const auto& size_v = item(args, 2, Value::Kind::kTuple, "tensor");
    const auto& stride_v = item(args, 3, Value::Kind::kTuple, "tensor");
    SATCLIP_CHECK(size_v.items.size() == stride_v.items.size() && size_v.items.size() <= 16,
                  cat(path_, ": a tensor with ", size_v.items.size(), " sizes and ", stride_v.items.size(), " strides"),
                  "the file is damaged");
    std::vector<int64_t> size, stride;
    int64_t last = offset;  // the highest element index the view touches
    bool empty = false;
    for (size_t d = 0; d < size_v.items.size(); ++d) {
      const auto& n = *size_v.items[d];
      const auto& st = *stride_v.items[d];
      SATCLIP_CHECK(n.kind == Value::Kind::kInt && st.kind == Value::Kind::kInt && n.i >= 0 && st.i >= 0 &&
                        n.i <= (int64_t(1) << 40) && st.i <= (int64_t(1) << 40),
                    cat(path_, ": a tensor with size ", n.i, " and stride ", st.i, " in dimension ", d), "the file is damaged");
      size.push_back(n.i);
      stride.push_back(st.i);
      empty = empty || n.i == 0;
      if (n.i > 0) last += (n.i - 1) * st.i;
    }
    SATCLIP_CHECK(offset >= 0 && (empty || last < storage.numel()),
                  cat(path_, ": a tensor reaching element ", last, " (offset ", offset, ") of a storage of ",
                      storage.numel()),
                  "the file is damaged: its sizes, strides or offset exceed the stored data");
    return storage.as_strided(size, stride, empty ? 0 : offset);
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    SATCLIP_CHECK(callable->kind == Value::Kind::kGlobal, cat(path_, ": malformed data.pkl (REDUCE of a non-global)"),
                  "the file is damaged or not a state dict");
    const std::string& name = callable->s;
    if (name == "collections.OrderedDict") return make(Value::Kind::kDict);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      auto v = make(Value::Kind::kTensor);
      v->tensor = rebuild_tensor(args);
      return v;
    }
    if (name == "torch._utils._rebuild_parameter") {
      item(args, 0, Value::Kind::kTensor, "parameter");
      return args->items[0];
    }
    SATCLIP_FAIL(cat(path_, ": holds a ", name, " object; expected a dict of tensors (nothing in it was run)"),
                 "save model.state_dict(), not the model object");
  }

  // The allow-list: a name outside it is refused where the file names it, whatever it would be
  // used for (a callback's state, a hyper-parameter, a tensor).
  void check_allowed(const std::string& name) const {
    static const std::set<std::string> kAllowed = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                                   "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter"};
    const bool storage = starts_with(name, "torch.") && name.size() > 13 &&
                         name.compare(name.size() - 7, 7, "Storage") == 0 && name.find('.', 6) == std::string::npos;
    SATCLIP_CHECK(kAllowed.count(name) || storage,
                  cat(path_, ": data.pkl names the Python object ", name.substr(0, 120),
                      ", which no state dict or checkpoint needs; refused (nothing in the file was run)"),
                  "only tensors, numbers, strings and containers of them are read; save the weights with "
                  "torch.save(model.state_dict(), path) or load a SatCLIP/Lightning checkpoint as released");
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

PyValue plain(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNone: return PyValue::none();
    case Value::Kind::kBool: return PyValue::boolean(v.i != 0);
    case Value::Kind::kInt: return PyValue::integer(v.i);
    case Value::Kind::kFloat: return PyValue::real(v.f);
    case Value::Kind::kString: return PyValue::string(v.s);
    default: {
      PyValue o;
      o.kind = PyValue::Kind::kOther;
      return o;
    }
  }
}

std::vector<std::pair<std::string, PyValue>> plain_items(const Value& dict) {
  std::vector<std::pair<std::string, PyValue>> out;
  for (const auto& [k, v] : dict.entries) {
    if (k->kind == Value::Kind::kString && v->kind != Value::Kind::kTensor) out.emplace_back(k->s, plain(*v));
  }
  return out;
}

// The archive's bytes through the descriptor that was checked (caffe2's FileAdapter would open the
// name again). The zip reader calls this from C code, so it never throws: an error is a short read.
struct CheckedFileAdapter final : caffe2::serialize::ReadAdapterInterface {
  explicit CheckedFileAdapter(const RegularFile& f) : file(f) {}
  size_t size() const override { return size_t(file.size()); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    try {  // read_at stops at the end of the file
      return file.read_at(pos, static_cast<char*>(buf), n);
    } catch (const std::exception&) {
      return 0;
    }
  }
  const RegularFile& file;
};

}  // namespace

std::string PyValue::repr() const {
  switch (kind) {
    case Kind::kNone: return "None";
    case Kind::kBool: return i ? "True" : "False";
    case Kind::kInt: return std::to_string(i);
    case Kind::kFloat: return cat(f);
    case Kind::kString: return "'" + s.substr(0, 80) + "'";
    case Kind::kList: return "[...]";
    case Kind::kDict: return "{...}";
    case Kind::kTensor: return "a tensor";
    default: return "an object";
  }
}

std::vector<TorchFileEntry> read_torch_file(const RegularFile& file) {
  const std::string& path = file.path();
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(std::make_shared<CheckedFileAdapter>(file));
  } catch (const std::exception& e) {
    std::string what = e.what();
    SATCLIP_FAIL(cat(path, ": not a PyTorch state dict file written by torch.save (",
                     what.substr(0, what.find('\n')), ")"),
                 "save the weights in Python with torch.save(model.state_dict(), path)");
  }
  Unpickler unpickler(*reader, path);
  ValuePtr root;
  try {
    root = unpickler.run();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // e.g. bad_alloc, or a c10::Error from the archive
    std::string what = e.what();
    SATCLIP_FAIL(cat(path, ": unreadable state dict (", what.substr(0, what.find('\n')), ")"),
                 "the file is damaged or not a state dict written by torch.save");
  }
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
      e.is_dict = true;
      e.dict = tensor_items(*v);
      e.values = plain_items(*v);
    } else {
      e.value = plain(*v);  // numbers, strings: checkpoint metadata; lists: kOther
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace satclip::core
