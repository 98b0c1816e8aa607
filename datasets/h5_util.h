// Small HDF5 helpers: quiet error printing, error text, checked calls, string attributes.
#pragma once

#include <string>
#include <vector>

#include <hdf5.h>

#include "core/base/error.h"

namespace satclip::data {

// Turns off HDF5's automatic error printing on this thread (errors become exceptions instead).
void h5_quiet();

// The innermost message on HDF5's error stack, or "".
std::string h5_error_detail();

void h5_write_string_attr(hid_t obj, const char* name, const std::string& value);
void h5_write_int_attr(hid_t obj, const char* name, int value);
// Reads a string attribute; `ok` false when it is missing or not a string.
std::string h5_read_string_attr(hid_t obj, const char* name, bool& ok);
int h5_read_int_attr(hid_t obj, const char* name, bool& ok);

// Writes a 1-D dataset of doubles / variable-length strings.
void h5_write_doubles(hid_t file, const char* name, const std::vector<double>& v);
void h5_write_strings(hid_t file, const char* name, const std::vector<std::string>& v);

}  // namespace satclip::data

#define H5_CHECK(call, what)                                                           \
  do {                                                                                 \
    if ((call) < 0)                                                                    \
      ::satclip::throw_error(__FILE__, __LINE__,                                       \
                             std::string(what) + " (" + ::satclip::data::h5_error_detail() + ")", \
                             "check the path, free disk space and permissions");       \
  } while (0)
