#include "core/train/checkpoint/checkpoint_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/train/checkpoint/run_dir.h"

namespace satclip::core {
namespace {

constexpr const char* kMarker = "COMPLETE";
constexpr const char* kMarkerHeader = "satclip-checkpoint 1";
constexpr size_t kMaxMarkerBytes = 64 * 1024;
constexpr size_t kMaxFiles = 64;

std::string errno_text() { return std::strerror(errno); }

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

void rename_or_throw(const std::string& from, const std::string& to) {
  SATCLIP_CHECK(::rename(from.c_str(), to.c_str()) == 0,
                cat("cannot rename ", from, " to ", to, ": ", errno_text()), "check that the folder is writable");
}

// A name the protocol may list: letters, digits, '.', '_', '-', not starting with '.'.
bool safe_file_name(const std::string& n) {
  if (n.empty() || n.size() > 64 || n[0] == '.') return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
  return buf;
}

int64_t checkpoint_step(const std::string& name) {
  if (name.size() < 6 || name.size() > 5 + 18 || name.compare(0, 5, "step-") != 0) return -1;
  int64_t v = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

std::string write_checkpoint_dir(const std::string& root, const std::string& name,
                                 const std::vector<CheckpointFile>& files) {
  const std::string partial = root + "/." + name + ".partial", final_dir = root + "/" + name,
                    old = root + "/." + name + ".old";
  try {
    SATCLIP_CHECK(is_dir(root) || ::mkdir(root.c_str(), 0777) == 0,
                  cat(root, ": cannot create the checkpoint folder: ", errno_text()), "");
    remove_tree(partial);
    SATCLIP_CHECK(::mkdir(partial.c_str(), 0777) == 0, cat(partial, ": cannot create: ", errno_text()), "");
    std::string marker = std::string(kMarkerHeader) + "\n";
    for (const auto& [file, write] : files) {
      SATCLIP_CHECK(safe_file_name(file) && file != kMarker, cat("invalid checkpoint file name '", file, "'"), "");
      const std::string path = partial + "/" + file;
      try {
        write(path);
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {  // e.g. c10::Error from the zip writer on a full disk
        SATCLIP_FAIL(cat(path, ": write failed: ", e.what()), "");
      }
      fsync_path(path, false);
      const auto d = file_digest(path);
      marker += cat(file, " ", d.size, " ", hex16(d.hash), "\n");
    }
    fsync_path(partial, true);
    if (exists(final_dir)) {  // the same step written again (a resumed run): replace it safely
      remove_tree(old);
      rename_or_throw(final_dir, old);
    }
    rename_or_throw(partial, final_dir);
    fsync_path(root, true);
    write_file_atomically(final_dir + "/" + kMarker, marker);
    remove_tree(old);
  } catch (const Error& e) {
    remove_tree(partial);
    SATCLIP_FAIL(cat("checkpoint ", final_dir, " not written: ", e.message()),
                 "free space or fix the permissions of output.dir; the earlier checkpoints are intact");
  }
  return final_dir;
}

void write_pointer(const std::string& root, const std::string& pointer, const std::string& name) {
  write_file_atomically(root + "/" + pointer, name + "\n");
}

std::string read_pointer(const std::string& root, const std::string& pointer) {
  std::string text;
  try {  // a pointer is one file name; anything else (missing, a FIFO, large) points nowhere
    text = read_regular_file(root + "/" + pointer, kMaxMarkerBytes, "a checkpoint pointer", "");
  } catch (const Error&) {
    return "";
  }
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || !safe_file_name(line)) return "";
  return line;
}

void verify_checkpoint_dir(const std::string& dir) {
  const std::string marker = dir + "/" + kMarker;
  struct stat st {};
  SATCLIP_CHECK(is_dir(dir), cat(dir, ": not a checkpoint directory"),
                "give a step-<N> folder under output.dir/checkpoints, or a run directory");
  SATCLIP_CHECK(::stat(marker.c_str(), &st) == 0,
                cat(dir, ": incomplete checkpoint (no ", kMarker, " marker: the write was interrupted)"),
                "use an earlier checkpoint; --resume auto skips incomplete ones");
  std::istringstream in(read_regular_file(marker, kMaxMarkerBytes, "a checkpoint marker",
                                          "the checkpoint is damaged; use an earlier one"));
  std::string line;
  SATCLIP_CHECK(std::getline(in, line) && line == kMarkerHeader,
                cat(marker, ": the first line is not '", kMarkerHeader, "'"), "the checkpoint is damaged");
  size_t count = 0;
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream fields(line);
    std::string file, hash, extra;
    uint64_t size = 0;
    SATCLIP_CHECK((fields >> file >> size >> hash) && !(fields >> extra) && safe_file_name(file) && hash.size() == 16,
                  cat(marker, " line ", line_no, ": expected 'FILE SIZE HASH', got '", line.substr(0, 80), "'"),
                  "the checkpoint is damaged");
    SATCLIP_CHECK(++count <= kMaxFiles, cat(marker, ": more than ", kMaxFiles, " files listed"), "");
    const std::string path = dir + "/" + file;
    struct stat fs {};
    SATCLIP_CHECK(::stat(path.c_str(), &fs) == 0 && S_ISREG(fs.st_mode), cat(path, ": missing"),
                  "the checkpoint is damaged; use an earlier one");
    SATCLIP_CHECK(uint64_t(fs.st_size) == size,
                  cat(path, ": ", fs.st_size, " bytes, but the checkpoint recorded ", size, " (truncated or altered)"),
                  "the checkpoint is damaged; use an earlier one");
    const auto d = file_digest(path);
    SATCLIP_CHECK(hex16(d.hash) == hash, cat(path, ": content hash ", hex16(d.hash), " differs from the recorded ", hash),
                  "the checkpoint is damaged (bit rot or an edit); use an earlier one");
  }
  SATCLIP_CHECK(count > 0, cat(marker, ": lists no files"), "the checkpoint is damaged");
}

std::string find_newest_checkpoint(const std::string& root, std::vector<std::string>* skipped) {
  std::vector<std::pair<int64_t, std::string>> candidates;
  for (const auto& n : list_dir(root)) {
    const int64_t step = checkpoint_step(n);
    if (step >= 0 && is_dir(root + "/" + n)) candidates.emplace_back(step, n);
  }
  std::sort(candidates.rbegin(), candidates.rend());
  for (const auto& [step, n] : candidates) {
    try {
      verify_checkpoint_dir(root + "/" + n);
      return root + "/" + n;
    } catch (const Error& e) {
      if (skipped) skipped->push_back(e.message());
    }
  }
  return "";
}

std::vector<std::string> prune_checkpoints(const std::string& root, int64_t keep,
                                           const std::vector<std::string>& protect) {
  std::vector<std::string> problems;
  std::vector<std::pair<int64_t, std::string>> complete;
  for (const auto& n : list_dir(root)) {
    const std::string path = root + "/" + n;
    const bool leftover = n[0] == '.' && is_dir(path) &&
                          (n.size() > 8 && (n.compare(n.size() - 8, 8, ".partial") == 0 ||
                                            n.compare(n.size() - 4, 4, ".old") == 0));
    const int64_t step = checkpoint_step(n);
    if (leftover || (step >= 0 && is_dir(path) && !exists(path + "/" + kMarker))) {
      if (!remove_tree(path)) problems.push_back(cat(path, ": cannot remove"));
    } else if (step >= 0 && is_dir(path)) {
      complete.emplace_back(step, n);
    }
  }
  std::sort(complete.rbegin(), complete.rend());
  for (size_t i = static_cast<size_t>(std::max<int64_t>(keep, 0)); i < complete.size(); ++i) {
    const auto& n = complete[i].second;
    if (std::find(protect.begin(), protect.end(), n) != protect.end()) continue;
    if (!remove_tree(root + "/" + n)) problems.push_back(cat(root, "/", n, ": cannot remove"));
  }
  return problems;
}

std::string resolve_checkpoint_path(const std::string& path, std::vector<std::string>* skipped) {
  SATCLIP_CHECK(is_dir(path), cat(path, ": no such checkpoint or run directory"),
                "give a step-<N> folder, a run directory (output.dir) or its checkpoints/ folder");
  std::string base = path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string leaf = base.substr(base.find_last_of('/') + 1);
  if (checkpoint_step(leaf) >= 0 || exists(base + "/" + kMarker)) {
    verify_checkpoint_dir(base);
    return base;
  }
  const std::string runs = RunDir(base).checkpoints();  // `base` may be a run directory
  const std::string root = is_dir(runs) ? runs : base;
  const std::string found = find_newest_checkpoint(root, skipped);
  SATCLIP_CHECK(!found.empty(), cat(root, ": no complete checkpoint"),
                "train with checkpoint.every_steps or to an epoch end first, or give another path");
  return found;
}

std::string checkpoint_weights_path(const std::string& path) {
  if (is_dir(path)) return resolve_checkpoint_path(path) + "/model.pt";
  SATCLIP_CHECK(exists(path), cat(path, ": no such checkpoint, run directory or weights file"), kWeightsHint);
  return path;
}

}  // namespace satclip::core
