#include "datasets/h5_util.h"

#include <algorithm>
#include <cstring>

namespace satclip::data {

void h5_quiet() {
  thread_local bool done = false;  // the error-printing switch is per thread in thread-safe HDF5
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

std::string h5_error_detail() {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD,
           [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
             auto* s = static_cast<std::string*>(out);
             if (s->empty() && e->desc) *s = e->desc;
             return 0;
           },
           &detail);
  if (detail.empty()) return "no detail from HDF5";
  // The file driver's messages spell out the system call ("file write failed: time = <ctime with a
  // newline>, filename = ..., errno = 28, error message = 'No space left on device', buf = ...");
  // its head and the system's message say it all.
  const std::string mark = "error message = '";
  const size_t at = detail.find(mark), end = at == std::string::npos ? at : detail.find('\'', at + mark.size());
  if (end != std::string::npos) {
    detail = detail.substr(0, detail.find(':')) + ": " + detail.substr(at + mark.size(), end - at - mark.size());
  }
  for (char& c : detail) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return detail;
}

namespace {

// A fixed-length UTF-8 string type of `width` bytes, zero-padded (shard format 2 stores no
// variable-length strings: those live in HDF5's global heap, which libhdf5 1.10 mishandles in
// crafted files, see tests/fuzz/hdf5-known/).
H5Handle fixed_string_type(size_t width) {
  H5Handle type = h5_type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), width > 0 ? width : 1);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

// Writes `value` of `type` as the scalar attribute `name` of `obj`; the handles are closed before
// an error is raised, with the failed call's error stack kept for its message.
void write_scalar_attr(hid_t obj, const char* name, hid_t file_type, hid_t mem_type, const void* value) {
  H5Handle space = h5_space(H5Screate(H5S_SCALAR));
  H5Handle attr = h5_attr(H5Acreate2(obj, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const herr_t rc = attr.valid() ? H5Awrite(attr.get(), mem_type, value) : -1;
  H5ErrorsKept errors(rc);
  attr.reset();
  space.reset();
  errors.restore();
  H5_CHECK(rc, cat("writing attribute '", name, "'"));
}

// Writes `data` of `mem_type` as the 1-D dataset `name` of `n` values of `file_type`.
void write_column(hid_t file, const char* name, hid_t file_type, hid_t mem_type, hsize_t n, const void* data) {
  H5Handle space = h5_space(H5Screate_simple(1, &n, nullptr));
  H5Handle dcpl = h5_untimed_dcpl();
  H5Handle ds = h5_dataset(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
  const herr_t rc = !ds.valid() ? -1 : (n ? H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0);
  H5ErrorsKept errors(rc);
  ds.reset();
  space.reset();
  errors.restore();
  H5_CHECK(rc, cat("writing dataset ", name));
}

}  // namespace

H5Handle h5_untimed_dcpl() {
  H5Handle dcpl = h5_plist(H5Pcreate(H5P_DATASET_CREATE));
  H5_CHECK(dcpl.get(), "creating a dataset property list");
  H5_CHECK(H5Pset_obj_track_times(dcpl.get(), false), "turning off a dataset's timestamps");
  return dcpl;
}

void h5_write_string_attr(hid_t obj, const char* name, const std::string& value) {
  const H5Handle type = fixed_string_type(value.size());
  std::string buf = value;
  buf.resize(H5Tget_size(type.get()), '\0');
  write_scalar_attr(obj, name, type.get(), type.get(), buf.data());
}

void h5_write_int_attr(hid_t obj, const char* name, int value) {
  write_scalar_attr(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT, &value);
}

namespace {

// An attribute holding exactly one value (a file may store an array where one value belongs:
// reading it into one value's memory would overflow).
bool single_value(hid_t attr) {
  const H5Handle space = h5_space(H5Aget_space(attr));
  return space.valid() && H5Sget_simple_extent_npoints(space.get()) == 1;
}

constexpr size_t kMaxStringAttr = 1 << 16;  // bytes; ours are under 100

// A fixed-length string memory type like `file_type` (same width and character set: HDF5 does
// not convert between character sets), zero-padded.
H5Handle string_memory_type(hid_t file_type, size_t width) {
  H5Handle type = h5_type(H5Tcopy(H5T_C_S1));
  H5Tset_cset(type.get(), H5Tget_cset(file_type));
  H5Tset_size(type.get(), width);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  return type;
}

}  // namespace

std::string h5_read_string_attr(hid_t obj, const char* name, bool& ok) {
  ok = false;
  if (H5Aexists(obj, name) <= 0) return {};
  const H5Handle attr = h5_attr(H5Aopen(obj, name, H5P_DEFAULT));
  if (!attr.valid()) return {};
  const H5Handle ftype = h5_type(H5Aget_type(attr.get()));
  if (!(ftype.valid() && H5Tget_class(ftype.get()) == H5T_STRING && H5Tis_variable_str(ftype.get()) == 0 &&
        single_value(attr.get()) && H5Tget_size(ftype.get()) <= kMaxStringAttr)) {
    return {};
  }
  const size_t n = H5Tget_size(ftype.get());
  const H5Handle mtype = string_memory_type(ftype.get(), n);
  std::string buf(n, '\0');
  if (H5Aread(attr.get(), mtype.get(), buf.data()) < 0) return {};
  ok = true;
  return buf.substr(0, buf.find('\0'));
}

int h5_read_int_attr(hid_t obj, const char* name, bool& ok) {
  ok = false;
  int value = 0;
  if (H5Aexists(obj, name) <= 0) return 0;
  const H5Handle attr = h5_attr(H5Aopen(obj, name, H5P_DEFAULT));
  if (!attr.valid()) return 0;
  const H5Handle ftype = h5_type(H5Aget_type(attr.get()));
  if (ftype.valid() && H5Tget_class(ftype.get()) == H5T_INTEGER && single_value(attr.get()) &&
      H5Aread(attr.get(), H5T_NATIVE_INT, &value) >= 0) {
    ok = true;
  }
  return value;
}

void h5_write_doubles(hid_t file, const char* name, const std::vector<double>& v) {
  write_column(file, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v.size(), v.data());
}

void h5_write_strings(hid_t file, const char* name, const std::vector<std::string>& v) {
  size_t width = 1;
  for (const auto& s : v) width = std::max(width, s.size());
  std::string buf(v.size() * width, '\0');
  for (size_t i = 0; i < v.size(); ++i) v[i].copy(&buf[i * width], v[i].size());
  const H5Handle type = fixed_string_type(width);
  write_column(file, name, type.get(), type.get(), v.size(), buf.data());
}

std::vector<std::string> h5_read_strings(hid_t ds, int64_t n, size_t max_width, std::string& error) {
  std::vector<std::string> out;
  const H5Handle ftype = h5_type(H5Dget_type(ds));
  const bool fixed = ftype.valid() && H5Tget_class(ftype.get()) == H5T_STRING && H5Tis_variable_str(ftype.get()) == 0;
  const size_t width = fixed ? H5Tget_size(ftype.get()) : 0;
  if (!fixed || width == 0 || width > max_width) {
    error = fixed ? cat("strings of ", width, " bytes (at most ", max_width, ")")
                  : "not fixed-length strings (variable-length strings are refused)";
    return out;
  }
  const H5Handle mtype = string_memory_type(ftype.get(), width);
  std::string buf(size_t(n) * width, '\0');
  if (n > 0 && H5Dread(ds, mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
    error = h5_error_detail();
    return out;
  }
  out.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const char* p = &buf[size_t(i) * width];
    out.emplace_back(p, ::strnlen(p, width));
  }
  return out;
}

}  // namespace satclip::data
