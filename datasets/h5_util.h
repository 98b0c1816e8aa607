// Small HDF5 helpers: quiet error printing, error text, checked calls, string attributes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <hdf5.h>

#include "core/base/error.h"
#include "datasets/h5_handle.h"

namespace satclip::data {

// Turns off HDF5's automatic error printing on this thread (errors become exceptions instead).
void h5_quiet();

// The innermost message on HDF5's error stack on one line ("no detail from HDF5" when it is
// empty); a failed system call reads "file write failed: No space left on device".
std::string h5_error_detail();

// Keeps the error stack of a call that failed across the cleanup calls after it (every HDF5 call
// clears the stack when it starts), so that H5_CHECK's detail still says why, e.g. "No space left
// on device": make one from the call's result, close the handles, then restore().
class H5ErrorsKept {
 public:
  explicit H5ErrorsKept(herr_t rc) : stack_(rc < 0 ? H5Eget_current_stack() : -1) {}
  ~H5ErrorsKept() {
    if (stack_ >= 0) H5Eclose_stack(stack_);
  }
  H5ErrorsKept(const H5ErrorsKept&) = delete;
  H5ErrorsKept& operator=(const H5ErrorsKept&) = delete;
  void restore() {
    if (stack_ >= 0) H5Eset_current_stack(stack_);  // which also closes the kept copy
    stack_ = -1;
  }

 private:
  hid_t stack_;
};

// A dataset creation property list that stores no timestamps, so that the same data gives the
// same bytes (a resumed pack equals an uninterrupted one).
H5Handle h5_untimed_dcpl();

// String attributes and datasets are fixed-length, zero-padded UTF-8: no variable-length strings.
void h5_write_string_attr(hid_t obj, const char* name, const std::string& value);
void h5_write_int_attr(hid_t obj, const char* name, int value);
// Reads a scalar fixed-length string attribute; `ok` false when it is missing, not one value, or
// not a fixed-length string of at most 64 KiB.
std::string h5_read_string_attr(hid_t obj, const char* name, bool& ok);
int h5_read_int_attr(hid_t obj, const char* name, bool& ok);

// Writes a 1-D dataset of doubles / fixed-length strings (as wide as the longest).
void h5_write_doubles(hid_t file, const char* name, const std::vector<double>& v);
void h5_write_strings(hid_t file, const char* name, const std::vector<std::string>& v);
// Reads `n` fixed-length strings of at most `max_width` bytes from the 1-D dataset `ds` (its extent
// already checked to be `n`). On failure returns {} with `error` saying why.
std::vector<std::string> h5_read_strings(hid_t ds, int64_t n, size_t max_width, std::string& error);

}  // namespace satclip::data

#define H5_CHECK(call, what)                                                           \
  do {                                                                                 \
    if ((call) < 0)                                                                    \
      ::satclip::throw_error(__FILE__, __LINE__,                                       \
                             std::string(what) + " (" + ::satclip::data::h5_error_detail() + ")", \
                             "check the path, free disk space and permissions");       \
  } while (0)
