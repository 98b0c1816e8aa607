#include "datasets/geotiff.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/text.h"

namespace satclip::data {
namespace {

// Silences GDAL's own printing on this thread; errors are read with CPLGetLastErrorMsg().
struct QuietGdal {
  QuietGdal() {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
  }
  ~QuietGdal() { CPLPopErrorHandler(); }
};

// GDAL's last message. It names the file as GDAL opened it (`opened`, the checked file's
// /proc/self/fd name), which is replaced by the path the user knows.
std::string last_gdal_error(const std::string& opened = {}, const std::string& path = {}) {
  const char* msg = CPLGetLastErrorMsg();
  return replace_all(msg && *msg ? msg : "no detail from GDAL", opened, path);
}

struct DatasetCloser {
  void operator()(GDALDataset* d) const { GDALClose(d); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

}  // namespace

void ensure_gdal() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

namespace {

// Reads the GeoTIFF GDAL opens as `gdal_name`; errors name it `shown` (GDAL's own messages have
// `opened` replaced by `shown`).
Tile read_opened(const std::string& gdal_name, const std::string& opened, const std::string& shown) {
  DatasetPtr ds(static_cast<GDALDataset*>(GDALOpen(gdal_name.c_str(), GA_ReadOnly)));
  SATCLIP_CHECK(ds != nullptr, cat(shown, ": GDAL cannot open it (", last_gdal_error(opened, shown), ")"),
                "the file is missing, truncated or not a GeoTIFF; re-download it");
  Tile t;
  t.bands = ds->GetRasterCount();
  t.width = ds->GetRasterXSize();
  t.height = ds->GetRasterYSize();
  SATCLIP_CHECK(t.bands > 0, cat(shown, ": no raster bands"), "");
  const GDALDataType type = ds->GetRasterBand(1)->GetRasterDataType();
  SATCLIP_CHECK(type == GDT_UInt16,
                cat(shown, ": pixels are ", GDALGetDataTypeName(type), ", expected UInt16"),
                "S2-100k tiles hold uint16 digital numbers (reflectance x 10000)");
  t.data.resize(static_cast<size_t>(t.bands) * t.height * t.width);
  const CPLErr err = ds->RasterIO(GF_Read, 0, 0, t.width, t.height, t.data.data(), t.width, t.height,
                                  GDT_UInt16, t.bands, nullptr, /*nPixelSpace=*/2,
                                  /*nLineSpace=*/2 * static_cast<GSpacing>(t.width),
                                  /*nBandSpace=*/2 * static_cast<GSpacing>(t.width) * t.height, nullptr);
  SATCLIP_CHECK(err == CE_None, cat(shown, ": reading pixels failed (", last_gdal_error(opened, shown), ")"),
                "the file is probably truncated; re-download it");
  return t;
}

}  // namespace

Tile read_geotiff(const std::string& path) {
  ensure_gdal();
  QuietGdal quiet;
  // Checked first (GDAL would wait forever on a FIFO), then GDAL opens that very file.
  const RegularFile checked(path, "a GeoTIFF",
                            "the tile listed in the index must be a GeoTIFF file; re-download it");
  const std::string same_file = checked.reopen_name();
  return read_opened(same_file, same_file, path);
}

Tile read_geotiff_in(const std::string& archive, uint64_t offset, uint64_t size, const std::string& member) {
  ensure_gdal();
  QuietGdal quiet;
  const RegularFile checked(archive, "a tar archive", "--images must name .tar archives or a folder holding them");
  SATCLIP_CHECK(offset <= checked.size() && size <= checked.size() - offset,
                cat(archive, ": ", member, " lies past the end of the archive"), "re-download the archive");
  const std::string same_file = checked.reopen_name();
  // GDAL's window on the bytes [offset, offset + size) of the archive; nothing is extracted.
  const std::string window = cat("/vsisubfile/", offset, "_", size, ",", same_file);
  return read_opened(window, window, cat(archive, ":", member));
}

void write_geotiff(const std::string& path, const Tile& tile, double lat, double lon) {
  ensure_gdal();
  QuietGdal quiet;
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  SATCLIP_CHECK(driver != nullptr, "GDAL has no GTiff driver", "install a complete GDAL (libgdal-dev)");
  const int block = std::max(16, std::min(256, tile.width / 16 * 16));
  const std::string block_s = std::to_string(block);
  const std::string bx = "BLOCKXSIZE=" + block_s, by = "BLOCKYSIZE=" + block_s;
  const char* options[] = {"COMPRESS=LZW", "PREDICTOR=2", "TILED=YES", "INTERLEAVE=PIXEL",
                           bx.c_str(), by.c_str(), nullptr};
  DatasetPtr ds(driver->Create(path.c_str(), tile.width, tile.height, tile.bands, GDT_UInt16,
                               const_cast<char**>(options)));
  SATCLIP_CHECK(ds != nullptr, cat(path, ": cannot create the GeoTIFF (", last_gdal_error(), ")"),
                "check that the output folder exists and is writable");
  const double px = 10.0 / 111320.0;  // 10 m in degrees of latitude
  double transform[6] = {lon - px * tile.width / 2, px, 0, lat + px * tile.height / 2, 0, -px};
  ds->SetGeoTransform(transform);
  OGRSpatialReference srs;
  srs.importFromEPSG(4326);
  ds->SetSpatialRef(&srs);
  const CPLErr err = ds->RasterIO(GF_Write, 0, 0, tile.width, tile.height,
                                  const_cast<uint16_t*>(tile.data.data()), tile.width, tile.height,
                                  GDT_UInt16, tile.bands, nullptr, 2, 2 * static_cast<GSpacing>(tile.width),
                                  2 * static_cast<GSpacing>(tile.width) * tile.height, nullptr);
  SATCLIP_CHECK(err == CE_None, cat(path, ": writing pixels failed (", last_gdal_error(), ")"), "");
}

}  // namespace satclip::data
