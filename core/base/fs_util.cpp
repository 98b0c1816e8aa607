#include "core/base/fs_util.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "core/base/error.h"

namespace satclip {

bool remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return true;
  const int rc = ::nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p) == 0 ? 0 : -1; },
      /*nopenfd=*/16, FTW_DEPTH | FTW_PHYS);
  return rc == 0;
}

namespace {

thread_local std::string g_from, g_to;  // nftw's callback takes no user data

int copy_entry(const char* p, const struct stat* st, int type, struct FTW*) {
  const std::string rel = std::string(p).substr(g_from.size());
  const std::string dst = g_to + rel;
  if (type == FTW_D) return ::mkdir(dst.c_str(), st->st_mode & 07777) == 0 ? 0 : -1;
  if (type != FTW_F) return 0;
  std::ifstream in(p, std::ios::binary);
  std::ofstream out(dst, std::ios::binary);
  out << in.rdbuf();
  return out.good() ? 0 : -1;
}

}  // namespace

void copy_tree(const std::string& from, const std::string& to) {
  g_from = from;
  g_to = to;
  SATCLIP_CHECK(::nftw(from.c_str(), copy_entry, 16, FTW_PHYS) == 0,
                cat("copying ", from, " to ", to, " failed"), "check that the target does not exist yet");
}

}  // namespace satclip
