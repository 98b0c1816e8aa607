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
hid_t fixed_string_type(size_t width) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width > 0 ? width : 1);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

}  // namespace

void h5_write_string_attr(hid_t obj, const char* name, const std::string& value) {
  hid_t type = fixed_string_type(value.size());
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  std::string buf = value;
  buf.resize(H5Tget_size(type), '\0');
  const herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, buf.data());
  H5ErrorsKept errors(rc);
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
  errors.restore();
  H5_CHECK(rc, cat("writing attribute '", name, "'"));
}

void h5_write_int_attr(hid_t obj, const char* name, int value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
  const herr_t rc = attr < 0 ? -1 : H5Awrite(attr, H5T_NATIVE_INT, &value);
  H5ErrorsKept errors(rc);
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  errors.restore();
  H5_CHECK(rc, cat("writing attribute '", name, "'"));
}

namespace {

// An attribute holding exactly one value (a file may store an array where one value belongs:
// reading it into one value's memory would overflow).
bool single_value(hid_t attr) {
  hid_t space = H5Aget_space(attr);
  const hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  if (space >= 0) H5Sclose(space);
  return n == 1;
}

constexpr size_t kMaxStringAttr = 1 << 16;  // bytes; ours are under 100

}  // namespace

std::string h5_read_string_attr(hid_t obj, const char* name, bool& ok) {
  ok = false;
  if (H5Aexists(obj, name) <= 0) return {};
  hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  if (attr < 0) return {};
  hid_t ftype = H5Aget_type(attr);
  std::string out;
  if (H5Tget_class(ftype) == H5T_STRING && H5Tis_variable_str(ftype) == 0 && single_value(attr) &&
      H5Tget_size(ftype) <= kMaxStringAttr) {
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mtype, H5Tget_cset(ftype));  // HDF5 does not convert between character sets
    const size_t n = H5Tget_size(ftype);
    H5Tset_size(mtype, n);
    H5Tset_strpad(mtype, H5T_STR_NULLPAD);
    std::string buf(n, '\0');
    if (H5Aread(attr, mtype, buf.data()) >= 0) {
      out = buf.substr(0, buf.find('\0'));
      ok = true;
    }
    H5Tclose(mtype);
  }
  H5Tclose(ftype);
  H5Aclose(attr);
  return out;
}

int h5_read_int_attr(hid_t obj, const char* name, bool& ok) {
  ok = false;
  int value = 0;
  if (H5Aexists(obj, name) <= 0) return 0;
  hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  if (attr < 0) return 0;
  hid_t ftype = H5Aget_type(attr);
  if (H5Tget_class(ftype) == H5T_INTEGER && single_value(attr) && H5Aread(attr, H5T_NATIVE_INT, &value) >= 0) ok = true;
  H5Tclose(ftype);
  H5Aclose(attr);
  return value;
}

void h5_write_doubles(hid_t file, const char* name, const std::vector<double>& v) {
  const hsize_t n = v.size();
  hid_t space = H5Screate_simple(1, &n, nullptr);
  hid_t ds = H5Dcreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5ErrorsKept errors(rc);
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  errors.restore();
  H5_CHECK(rc, cat("writing dataset ", name));
}

void h5_write_strings(hid_t file, const char* name, const std::vector<std::string>& v) {
  const hsize_t n = v.size();
  size_t width = 1;
  for (const auto& s : v) width = std::max(width, s.size());
  std::string buf(n * width, '\0');
  for (size_t i = 0; i < v.size(); ++i) v[i].copy(&buf[i * width], v[i].size());
  hid_t type = fixed_string_type(width);
  hid_t space = H5Screate_simple(1, &n, nullptr);
  hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const herr_t rc = ds < 0 ? -1 : (n ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) : 0);
  H5ErrorsKept errors(rc);
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  H5Tclose(type);
  errors.restore();
  H5_CHECK(rc, cat("writing dataset ", name));
}

std::vector<std::string> h5_read_strings(hid_t ds, int64_t n, size_t max_width, std::string& error) {
  std::vector<std::string> out;
  hid_t ftype = H5Dget_type(ds);
  const bool fixed = ftype >= 0 && H5Tget_class(ftype) == H5T_STRING && H5Tis_variable_str(ftype) == 0;
  const size_t width = fixed ? H5Tget_size(ftype) : 0;
  if (!fixed || width == 0 || width > max_width) {
    error = fixed ? cat("strings of ", width, " bytes (at most ", max_width, ")")
                  : "not fixed-length strings (variable-length strings are refused)";
  } else {
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, width);
    H5Tset_strpad(mtype, H5T_STR_NULLPAD);
    H5Tset_cset(mtype, H5Tget_cset(ftype));
    std::string buf(size_t(n) * width, '\0');
    if (n > 0 && H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
      error = h5_error_detail();
    } else {
      out.reserve(size_t(n));
      for (int64_t i = 0; i < n; ++i) {
        const char* p = &buf[size_t(i) * width];
        out.emplace_back(p, ::strnlen(p, width));
      }
    }
    H5Tclose(mtype);
  }
  if (ftype >= 0) H5Tclose(ftype);
  return out;
}

}  // namespace satclip::data
