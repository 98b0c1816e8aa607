#include "datasets/h5_util.h"

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
  return detail.empty() ? "no detail from HDF5" : detail;
}

void h5_write_string_attr(hid_t obj, const char* name, const std::string& value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char* p = value.c_str();
  const herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, &p);
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
  H5_CHECK(rc, cat("writing attribute '", name, "'"));
}

void h5_write_int_attr(hid_t obj, const char* name, int value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
  const herr_t rc = attr < 0 ? -1 : H5Awrite(attr, H5T_NATIVE_INT, &value);
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  H5_CHECK(rc, cat("writing attribute '", name, "'"));
}

std::string h5_read_string_attr(hid_t obj, const char* name, bool& ok) {
  ok = false;
  if (H5Aexists(obj, name) <= 0) return {};
  hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  if (attr < 0) return {};
  hid_t ftype = H5Aget_type(attr);
  std::string out;
  if (H5Tget_class(ftype) == H5T_STRING) {
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mtype, H5Tget_cset(ftype));  // HDF5 does not convert between character sets
    if (H5Tis_variable_str(ftype) > 0) {
      H5Tset_size(mtype, H5T_VARIABLE);
      char* p = nullptr;
      if (H5Aread(attr, mtype, &p) >= 0 && p) {
        out = p;
        ok = true;
        H5free_memory(p);
      }
    } else {
      const size_t n = H5Tget_size(ftype);
      H5Tset_size(mtype, n);
      std::string buf(n, '\0');
      if (H5Aread(attr, mtype, buf.data()) >= 0) {
        out = buf.c_str();
        ok = true;
      }
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
  if (H5Tget_class(ftype) == H5T_INTEGER && H5Aread(attr, H5T_NATIVE_INT, &value) >= 0) ok = true;
  H5Tclose(ftype);
  H5Aclose(attr);
  return value;
}

void h5_write_doubles(hid_t file, const char* name, const std::vector<double>& v) {
  const hsize_t n = v.size();
  hid_t space = H5Screate_simple(1, &n, nullptr);
  hid_t ds = H5Dcreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  H5_CHECK(rc, cat("writing dataset ", name));
}

void h5_write_strings(hid_t file, const char* name, const std::vector<std::string>& v) {
  const hsize_t n = v.size();
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t space = H5Screate_simple(1, &n, nullptr);
  hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const herr_t rc = ds < 0 ? -1 : (n ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) : 0);
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  H5Tclose(type);
  H5_CHECK(rc, cat("writing dataset ", name));
}

}  // namespace satclip::data
