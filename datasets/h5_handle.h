// H5Handle: owns one HDF5 identifier (file, dataset, dataspace, datatype, attribute or property
// list) and closes it with its H5*close when it goes out of scope, on every path, exceptions
// included. Every reader and writer of HDF5 files in the project holds its identifiers in these.
#pragma once

#include <hdf5.h>

namespace satclip::data {

class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle() = default;
  // Takes `id` (a negative id, a failed call's result, is held as "none").
  H5Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~H5Handle() { reset(); }
  H5Handle(H5Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  H5Handle& operator=(H5Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      close_ = other.close_;
      other.id_ = -1;
    }
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now (when there is something to close); returns H5*close's result, 0 for none.
  herr_t reset() {
    const herr_t rc = id_ >= 0 && close_ ? close_(id_) : 0;
    id_ = -1;
    return rc;
  }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

inline H5Handle h5_file(hid_t id) { return {id, H5Fclose}; }
inline H5Handle h5_dataset(hid_t id) { return {id, H5Dclose}; }
inline H5Handle h5_space(hid_t id) { return {id, H5Sclose}; }
inline H5Handle h5_type(hid_t id) { return {id, H5Tclose}; }
inline H5Handle h5_attr(hid_t id) { return {id, H5Aclose}; }
inline H5Handle h5_plist(hid_t id) { return {id, H5Pclose}; }

}  // namespace satclip::data
