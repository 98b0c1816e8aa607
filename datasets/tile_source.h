// Where satclip-pack finds the tiles that index.csv names: a folder of GeoTIFFs, or the tar
// archives S2-100k is published as, read in place (nothing is extracted).
//
// --images may be a folder whose files the fn column names (fn is a path under it); a .tar file;
// a comma-separated list of .tar files; or a folder holding .tar files and no .tif files. With
// archives, every archive's members are indexed once at start (tar_index.h, in parallel) and fn's
// last path component names a member (S2-100k's index says images/patch_N.tif, its archives hold
// patch_N.tif). A name held by two archives is refused at start: a duplicated download would
// otherwise decide silently which copy is packed.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "datasets/geotiff.h"
#include "datasets/tar_index.h"

namespace satclip::data {

class TileSource {
 public:
  TileSource(const std::string& images, int threads);

  bool archives() const { return !archives_.empty(); }
  // The absolute folder or archive paths (comma-separated): what a resumed pack must read again.
  std::string identity() const;
  // One line for the log: the folder, or the archives, their tiles and any damage found.
  std::string describe() const;
  // Damaged archives: "ARCHIVE: why indexing stopped" (their members before it still count).
  std::vector<std::string> damage() const;

  // Where record `fn` is, or why it cannot be read: `reason` (a skipped.csv reason) and `detail`.
  struct Found {
    std::string path;       // the tile file, or the archive
    const TarMember* member = nullptr;
    uint64_t bytes = 0;
    std::string reason, detail;
    bool ok() const { return reason.empty(); }
  };
  Found find(const std::string& fn) const;
  // Reads a found tile (throws satclip::Error naming it, as read_geotiff does).
  Tile read(const Found& found) const;

 private:
  std::string folder_;
  std::vector<TarIndex> archives_;
  // member base name -> (archive, member)
  std::unordered_map<std::string, std::pair<size_t, size_t>> by_name_;
};

}  // namespace satclip::data
