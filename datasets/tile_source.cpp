#include "datasets/tile_source.h"

#include <algorithm>
#include <filesystem>

#include "core/base/error.h"
#include "core/base/ordered_work.h"
#include "core/base/text.h"

namespace fs = std::filesystem;

namespace satclip::data {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The archives --images names, sorted within a folder; empty when it names a tile folder.
std::vector<std::string> archive_paths(const std::string& images) {
  std::vector<std::string> paths;
  std::error_code ec;
  if (fs::is_directory(images, ec)) {
    bool tifs = false;
    for (const auto& e : fs::directory_iterator(images, ec)) {
      const std::string name = e.path().filename().string();
      if (ends_with(name, ".tar") && e.is_regular_file(ec)) paths.push_back(e.path().string());
      if (ends_with(name, ".tif") || ends_with(name, ".tiff")) tifs = true;
    }
    SATCLIP_CHECK(!ec, cat(images, ": cannot list the folder (", ec.message(), ")"), "check --images");
    if (tifs) return {};
    std::sort(paths.begin(), paths.end());
    return paths;
  }
  for (const auto& part : split_csv_line(images)) {
    SATCLIP_CHECK(ends_with(part, ".tar"), cat("--images ", images, ": '", part, "' is neither a folder nor a .tar file"),
                  "--images takes the tile folder, a folder of .tar archives, or .tar files separated by commas");
    paths.push_back(part);
  }
  return paths;
}

}  // namespace

TileSource::TileSource(const std::string& images, int threads) {
  const auto paths = archive_paths(images);
  if (paths.empty()) {
    SATCLIP_CHECK(fs::is_directory(images), cat(images, ": no such folder"),
                  "--images must be the tile folder, a folder of .tar archives, or .tar files separated by commas");
    folder_ = images;
    return;
  }
  // Each archive's headers are read once, several archives at a time.
  OrderedWork<TarIndex> work(int64_t(paths.size()), std::max(threads, 1), int64_t(threads) * 2,
                             [&](int64_t i) { return index_tar(paths[size_t(i)]); });
  for (size_t a = 0; a < paths.size(); ++a) archives_.push_back(work.next());
  for (size_t a = 0; a < archives_.size(); ++a) {
    const auto& members = archives_[a].members;
    for (size_t m = 0; m < members.size(); ++m) {
      const auto [at, fresh] = by_name_.emplace(base_name(members[m].name), std::make_pair(a, m));
      SATCLIP_CHECK(fresh || at->second.first == a,
                    cat(base_name(members[m].name), " is in two archives: ", archives_[at->second.first].path,
                        " and ", archives_[a].path),
                    "remove the duplicate archive (a second download of the same shard?) from --images");
      if (!fresh) at->second = {a, m};  // a name repeated within one archive: tar's rule, the last wins
    }
  }
}

std::string TileSource::identity() const {
  if (!archives()) return fs::absolute(folder_).lexically_normal().string();
  std::string joined;
  for (const auto& a : archives_) joined += (joined.empty() ? "" : ",") + fs::absolute(a.path).lexically_normal().string();
  return joined;
}

std::string TileSource::describe() const {
  if (!archives()) return cat("tiles from the folder ", folder_);
  size_t members = 0;
  for (const auto& a : archives_) members += a.members.size();
  return cat("tiles from ", archives_.size(), " tar archive(s) holding ", members, " files, read in place",
             damage().empty() ? "" : cat("; ", damage().size(), " archive(s) damaged"));
}

std::vector<std::string> TileSource::damage() const {
  std::vector<std::string> out;
  for (const auto& a : archives_) if (!a.problem.empty()) out.push_back(cat(a.path, ": ", a.problem));
  return out;
}

TileSource::Found TileSource::find(const std::string& fn) const {
  Found f;
  if (!archives()) {
    f.path = (fs::path(folder_) / fn).string();
    std::error_code ec;
    const auto status = fs::status(f.path, ec);
    if (ec || !fs::exists(status)) {
      f.reason = "missing file";
      f.detail = f.path;
    } else if (!fs::is_regular_file(status)) {  // a FIFO would block GDAL forever
      f.reason = "not a regular file";
      f.detail = f.path;
    } else {
      f.bytes = fs::file_size(f.path, ec);
    }
    return f;
  }
  const auto at = by_name_.find(base_name(fn));
  if (at == by_name_.end()) {
    f.reason = "missing file";
    f.detail = cat(base_name(fn), " is in none of the ", archives_.size(), " archives");
    return f;
  }
  const TarIndex& a = archives_[at->second.first];
  f.path = a.path;
  f.member = &a.members[at->second.second];
  f.bytes = f.member->size;
  if (f.member->truncated) {
    f.reason = "truncated archive";
    f.detail = cat(a.path, " ends inside ", f.member->name);
  }
  return f;
}

Tile TileSource::read(const Found& f) const {
  return f.member ? read_geotiff_in(f.path, f.member->offset, f.member->size, f.member->name) : read_geotiff(f.path);
}

}  // namespace satclip::data
