// Fuzz target (structure level): the fuzz input decides how a shard deviates from the format,
// and the shard is then written through the HDF5 API, so every file is one libhdf5 reads
// correctly and only our validator and reader are under test: ShardedDataset::open, then a read
// of every record it accepted.
//
// Decided by the input: the manifest's tile count and compression; the `format`, `version` and
// `bands` attributes (absent, wrong type, wrong value, fixed or variable strings, arrays); /images
// (absent, element type, byte order, rank, every dimension, chunk shape or contiguous layout,
// filters, which chunks exist, and each chunk's raw bytes: a valid deflate stream or arbitrary
// bytes of any length); /lat, /lon and /fn (absent, type, rank, length, values, string kind).
#include <hdf5.h>

#include <fstream>
#include <vector>

#include "core/base/fs_util.h"
#include "datasets/dataset.h"
#include "datasets/h5_shards.h"
#include "datasets/manifest.h"
#include "tests/fuzz/shard_target.h"

namespace {

constexpr int kC = 12, kH = 4, kW = 4;

// Reads the input front to back; past its end every value is 0. Every choice reads 0 as "as the
// format says", so an empty input is a valid shard of one uncompressed tile.
class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  uint8_t byte() { return pos_ < n_ ? d_[pos_++] : 0; }
  int pick(int n) { return byte() % n; }  // 0..n-1
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | byte();
    return v;
  }
  std::vector<uint8_t> bytes(size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = byte();
    return v;
  }

 private:
  const uint8_t* d_;
  size_t n_, pos_ = 0;
};

// An attribute on the file root: mode 0 = the right value as a fixed-length string (format 2),
// 1 = as a variable-length string (format 1), 2 = a wrong string, 3 = an integer, 4 = absent,
// 5 = an array of two variable-length strings.
void string_attr(hid_t file, const char* name, const std::string& good, Input& in) {
  const int mode = in.pick(6);
  if (mode == 4) return;
  const bool array = mode == 5;
  const hsize_t two = 2;
  hid_t space = array ? H5Screate_simple(1, &two, nullptr) : H5Screate(H5S_SCALAR);
  if (mode == 3) {
    const long long v = static_cast<long long>(in.u64());
    hid_t a = H5Acreate2(file, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_LLONG, &v);
    H5Aclose(a);
  } else {
    std::string text = good;
    if (mode == 2) {
      const auto raw = in.bytes(in.pick(40));
      text.assign(raw.begin(), raw.end());
    }
    hid_t type = H5Tcopy(H5T_C_S1);
    if (mode == 0 || mode == 2) {
      H5Tset_size(type, text.empty() ? 1 : text.size());
      hid_t a = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
      std::string buf = text + std::string(array ? text.size() + 1 : 1, '\0');
      H5Awrite(a, type, buf.data());
      H5Aclose(a);
    } else {
      H5Tset_size(type, H5T_VARIABLE);
      hid_t a = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
      const char* ptrs[2] = {text.c_str(), text.c_str()};
      H5Awrite(a, type, ptrs);
      H5Aclose(a);
    }
    H5Tclose(type);
  }
  H5Sclose(space);
}

// `version`: 2, another integer, a string, absent, a double, or an array of two integers.
void version_attr(hid_t file, Input& in) {
  const int mode = in.pick(6);
  if (mode == 3) return;
  if (mode == 2) {
    in.byte();
    string_attr(file, "version", "2", in);
    return;
  }
  const hsize_t two = 2;
  hid_t space = mode == 5 ? H5Screate_simple(1, &two, nullptr) : H5Screate(H5S_SCALAR);
  const int ints[2] = {mode == 1 ? static_cast<int>(in.u64()) : satclip::data::kShardVersion, 1};
  const double d = satclip::data::kShardVersion;
  hid_t a = H5Acreate2(file, "version", mode == 4 ? H5T_IEEE_F64LE : H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
  if (mode == 4) H5Awrite(a, H5T_NATIVE_DOUBLE, &d); else H5Awrite(a, H5T_NATIVE_INT, ints);
  H5Aclose(a);
  H5Sclose(space);
}

// A dimension near `good`: itself (most often), one less, one more, 0 or up to 64.
hsize_t dim_near(hsize_t good, Input& in) {
  switch (in.pick(8)) {
    case 4: return good > 0 ? good - 1 : 0;
    case 5: return good + 1;
    case 6: return 0;
    case 7: return 1 + in.pick(64);
    default: return good;
  }
}

// /images, and its chunks.
void images(hid_t file, int count, bool gzip, Input& in) {
  if (in.pick(16) == 15) return;  // absent
  static const hid_t kTypes[] = {H5T_STD_U16LE, H5T_STD_U16BE, H5T_STD_I16LE, H5T_STD_U8LE, H5T_STD_U32LE,
                                 H5T_IEEE_F32LE};
  const hid_t type = in.pick(8) < 6 ? kTypes[in.pick(6)] : H5T_STD_U16LE;
  const int rank = in.pick(6) == 5 ? 1 + in.pick(5) : 4;
  const hsize_t good[5] = {hsize_t(count), kC, kH, kW, 1};
  hsize_t dims[5], chunk[5];
  for (int i = 0; i < rank; ++i) {
    dims[i] = dim_near(good[i], in);
    chunk[i] = i == 0 ? 1 : std::max<hsize_t>(1, dims[i]);
  }
  const int layout = in.pick(8);  // 7: contiguous, 6: chunks of 2 tiles, else one tile per chunk
  const bool chunked = layout != 7;
  if (layout == 6) chunk[0] = 2;
  hid_t space = H5Screate_simple(rank, dims, nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  const int filters = in.pick(8);  // 5: none, 6: shuffle + deflate, 7: fletcher32, else as the manifest
  const bool deflated = filters == 6 || (filters < 5 && gzip);
  if (chunked) {
    H5Pset_chunk(dcpl, rank, chunk);
    if (filters == 6) H5Pset_shuffle(dcpl);
    if (deflated) H5Pset_deflate(dcpl, 4);
    if (filters == 7) H5Pset_fletcher32(dcpl);
  }
  hid_t ds = H5Dcreate2(file, "images", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  if (ds < 0) return;
  if (chunked && rank == 4 && dims[1] * dims[2] * dims[3] > 0) {  // (libhdf5's writer crashes on empty chunks)
    for (hsize_t t = 0; t < dims[0]; t += chunk[0]) {
      const int what = in.pick(8);  // 7: no chunk, 6: arbitrary bytes, else a well-formed chunk
      if (what == 7) continue;
      const size_t bytes = size_t(chunk[0] * chunk[1] * chunk[2] * chunk[3]) * H5Tget_size(type);
      std::vector<uint8_t> payload = in.bytes(std::min<size_t>(bytes, 64));
      payload.resize(bytes, 7);
      if (what == 6) payload = in.bytes(in.pick(2) ? in.pick(256) : bytes + in.pick(3) - 1);
      else if (deflated) payload = satclip::data::deflate_bytes(payload.data(), payload.size(), 1);
      const hsize_t offset[4] = {t, 0, 0, 0};
      H5Dwrite_chunk(ds, H5P_DEFAULT, 0, offset, payload.size(), payload.data());
    }
  } else if (in.pick(2)) {
    hid_t s = H5Dget_space(ds);
    const hssize_t n = H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    if (n > 0 && n < (1 << 20)) {
      std::vector<uint8_t> data = in.bytes(size_t(n) * H5Tget_size(type));
      H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
    }
  }
  H5Dclose(ds);
}

// /lat or /lon: float64 (most often), float32, int32 or a string type; rank 1 or 2; a length
// near `count`; values from the input (NaN, infinities, huge).
void column(hid_t file, const char* name, int count, Input& in) {
  const int mode = in.pick(16);  // 15: absent, 14: rank 2, 13: float32, 12: int32, 11: strings
  if (mode == 15) return;
  const hsize_t dims[2] = {dim_near(hsize_t(count), in), 1 + hsize_t(in.pick(2))};
  const int rank = mode == 14 ? 2 : 1;
  hid_t type = mode == 13 ? H5Tcopy(H5T_IEEE_F32LE) : mode == 12 ? H5Tcopy(H5T_STD_I32LE) : H5Tcopy(H5T_IEEE_F64LE);
  if (mode == 11) {
    H5Tclose(type);
    type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 8);
  }
  hid_t space = H5Screate_simple(rank, dims, nullptr);
  hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const size_t n = size_t(dims[0]) * (rank == 2 ? dims[1] : 1);
  if (ds >= 0 && n > 0 && n < (1 << 16)) {
    std::vector<uint8_t> raw = in.bytes(n * H5Tget_size(type));
    H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
  }
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  H5Tclose(type);
}

// /fn: fixed-length strings (most often), variable-length strings (format 1), or integers;
// contents from the input (embedded NULs, invalid UTF-8, empty).
void fn_column(hid_t file, int count, Input& in) {
  const int mode = in.pick(8);  // 7: absent, 6: integers, 5: variable-length strings
  if (mode == 7) return;
  const hsize_t n = dim_near(hsize_t(count), in);
  hid_t space = H5Screate_simple(1, &n, nullptr);
  if (mode == 6) {
    hid_t ds = H5Dcreate2(file, "fn", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0) H5Dclose(ds);
  } else {
    hid_t type = H5Tcopy(H5T_C_S1);
    const size_t fixed = mode == 5 ? 0 : 1 + in.pick(16);
    H5Tset_size(type, fixed ? fixed : H5T_VARIABLE);
    hid_t ds = H5Dcreate2(file, "fn", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0 && n > 0 && n < 4096) {
      std::vector<std::string> text(n);
      for (auto& s : text) {
        const auto raw = in.bytes(in.pick(24));
        s.assign(raw.begin(), raw.end());
      }
      if (fixed) {
        std::string buf;
        for (const auto& s : text) buf += (s + std::string(fixed, '\0')).substr(0, fixed);
        H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
      } else {
        std::vector<const char*> ptrs;
        for (const auto& s : text) ptrs.push_back(s.c_str());
        H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
      }
    }
    if (ds >= 0) H5Dclose(ds);
    H5Tclose(type);
  }
  H5Sclose(space);
}

std::string manifest(int count, bool gzip) {
  std::string bands;
  static const char* kBands[kC] = {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"};
  for (int i = 0; i < kC; ++i) bands += std::string(i ? ", " : "") + "\"" + kBands[i] + "\"";
  const std::string n = std::to_string(count);
  return "{\"format\": \"satclip-s2-shards\", \"version\": 2, \"bands\": [" + bands + "], \"channels\": 12, " +
         "\"height\": 4, \"width\": 4, \"dtype\": \"uint16\", \"compression\": \"" + (gzip ? "gzip" : "none") +
         "\", \"source_index\": \"synthetic\", \"count\": " + n + ", \"skipped\": 0, " +
         "\"shards\": [{\"file\": \"shard-0-of-1.h5\", \"count\": " + n + "}]}\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const int count = 1 + in.pick(4);
  const bool gzip = in.pick(2) == 1;
  char tmpl[] = "/tmp/satclip-fuzz-shard-XXXXXX";
  if (!::mkdtemp(tmpl)) std::abort();
  const std::string dir = tmpl;
  std::ofstream(dir + "/manifest.json") << manifest(count, gzip);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t file = H5Fcreate((dir + "/shard-0-of-1.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) std::abort();
  string_attr(file, "format", "satclip-s2-shards", in);
  version_attr(file, in);
  string_attr(file, "bands", "B01,B02,B03,B04,B05,B06,B07,B08,B8A,B09,B11,B12", in);
  images(file, count, gzip, in);
  column(file, "lat", count, in);
  column(file, "lon", count, in);
  fn_column(file, count, in);
  H5Fclose(file);
  satclip::fuzz::open_read_all_and_remove(dir);
  return 0;
}
