// datasets/h5_util.h: an HDF5 write that fails says why, in one line, after the handles it used
// are closed (every HDF5 call clears the error stack, so without H5ErrorsKept the cleanup erased
// the cause and the error read "no detail from HDF5").
#include <sys/resource.h>

#include <csignal>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "datasets/h5_util.h"
#include "support/data_test_util.h"

using namespace satclip::data;
using satclip::testing::TempDir;

namespace {

// Runs `f` with writes past `bytes` failing as on a full disk: RLIMIT_FSIZE makes write() fail
// with EFBIG ("File too large") once SIGXFSZ, which would end the process, is ignored.
template <typename F>
std::string error_with_file_size_limit(rlim_t bytes, F f) {
  struct rlimit old {};
  EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto previous = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = bytes;
  EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    f();
  } catch (const satclip::Error& e) {
    message = e.message();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous);
  return message;
}

}  // namespace

TEST(H5Util, AFailedWriteNamesTheSystemsReason) {
  TempDir dir("h5util");
  h5_quiet();
  const std::string path = dir / "big.h5";
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  // 8 MiB of doubles, past the 1 MiB limit and HDF5's sieve buffer: H5Dwrite itself writes them.
  const std::vector<double> lat(size_t{1} << 20, 45.0);
  const std::string message = error_with_file_size_limit(1 << 20, [&] { h5_write_doubles(file, "lat", lat); });
  EXPECT_EQ(message, "writing dataset lat (file write failed: File too large)");
  H5Fclose(file);
  // The same call without the limit succeeds (the failure above came from the limit alone).
  hid_t again = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(again, 0);
  EXPECT_NO_THROW(h5_write_doubles(again, "lat", lat));
  EXPECT_GE(H5Fclose(again), 0);
}

TEST(H5Util, NoErrorMeansNoDetail) {
  h5_quiet();
  H5Eclear2(H5E_DEFAULT);
  EXPECT_EQ(h5_error_detail(), "no detail from HDF5");
}
