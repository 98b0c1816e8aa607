#include "core/eval/countries.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "core/base/error.h"
#include "core/base/fs_util.h"

#ifdef SATCLIP_HAVE_GDAL
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include "datasets/geotiff.h"
#endif

namespace satclip::core {

#ifdef SATCLIP_HAVE_GDAL
namespace {

constexpr int64_t kMaxRingPoints = 1 << 20;

struct CloseDataset {
  void operator()(GDALDataset* d) const { GDALClose(d); }
};

void add_ring(const OGRLinearRing& ring, const std::string& where, std::vector<LonLat>& out) {
  const int n = ring.getNumPoints();
  SATCLIP_CHECK(n >= 0 && n <= kMaxRingPoints, cat(where, ": a ring of ", n, " points"), "the file is damaged");
  for (int i = 0; i < n; ++i) {
    const double lon = ring.getX(i), lat = ring.getY(i);
    SATCLIP_CHECK(std::isfinite(lon) && std::isfinite(lat) && std::abs(lon) <= 180.000001 && std::abs(lat) <= 90.000001,
                  cat(where, ": point ", i, " (", lon, ", ", lat, ") is not a longitude, latitude"),
                  "the shapefile must be in degrees (EPSG:4326)");
    out.push_back({lon, lat});
  }
}

}  // namespace

CountryMap CountryMap::load(const std::string& path) {
  data::ensure_gdal();
  // A shapefile is three files read by name (.shp, .shx, .dbf): each must be a regular file (GDAL
  // would wait forever on a FIFO).
  const std::string stem = path.size() > 4 ? path.substr(0, path.size() - 4) : path;
  for (const char* ext : {".shp", ".shx", ".dbf"}) {
    const std::string part = stem + ext;
    RegularFile(part, "a part of the countries' shapefile", "pass the .shp of Natural Earth's countries, with its .shx and .dbf beside it");
  }
  std::unique_ptr<GDALDataset, CloseDataset> ds(static_cast<GDALDataset*>(
      GDALOpenEx(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr)));
  SATCLIP_CHECK(ds != nullptr && ds->GetLayerCount() >= 1, cat(path, ": GDAL cannot read it as a vector file"),
                "the file is damaged or not a shapefile");
  OGRLayer* layer = ds->GetLayer(0);
  const int name_field = layer->GetLayerDefn()->GetFieldIndex("name");
  SATCLIP_CHECK(name_field >= 0, cat(path, ": no field 'name'"), "use Natural Earth's admin-0 countries");
  CountryMap map;
  std::map<std::string, int64_t> index;
  layer->ResetReading();
  int64_t record = 0;
  for (OGRFeature* raw; (raw = layer->GetNextFeature()) != nullptr; ++record) {
    std::unique_ptr<OGRFeature, decltype(&OGRFeature::DestroyFeature)> f(raw, &OGRFeature::DestroyFeature);
    const std::string name = f->GetFieldAsString(name_field);
    const std::string where = cat(path, " record ", record, " (", name.substr(0, 60), ")");
    auto [it, fresh] = index.emplace(name, int64_t(map.names_.size()));
    if (fresh) map.names_.push_back(name);
    const OGRGeometry* g = f->GetGeometryRef();
    if (g == nullptr) continue;
    std::vector<const OGRPolygon*> polygons;
    const auto type = wkbFlatten(g->getGeometryType());
    if (type == wkbPolygon) {
      polygons.push_back(g->toPolygon());
    } else if (type == wkbMultiPolygon) {
      for (const auto* p : *g->toMultiPolygon()) polygons.push_back(p);
    } else {
      SATCLIP_FAIL(cat(where, ": a ", OGRGeometryTypeToName(type), ", not a polygon"), "use a polygon shapefile");
    }
    for (const auto* p : polygons) {
      for (const auto* ring : *p) {
        std::vector<LonLat> points;
        add_ring(*ring, where, points);
        if (points.size() < 3) continue;
        Box b{180, 90, -180, -90};
        for (const auto& q : points) {
          b.lon0 = std::min(b.lon0, q.lon), b.lon1 = std::max(b.lon1, q.lon);
          b.lat0 = std::min(b.lat0, q.lat), b.lat1 = std::max(b.lat1, q.lat);
        }
        map.rings_.push_back(std::move(points));
        map.ring_country_.push_back(it->second);
        map.ring_box_.push_back(b);
      }
    }
  }
  SATCLIP_CHECK(!map.rings_.empty(), cat(path, ": no polygons"), "use Natural Earth's admin-0 countries");
  return map;
}
#else
CountryMap CountryMap::load(const std::string& path) {
  SATCLIP_FAIL(cat(path, ": reading shapefiles needs GDAL, and this build has none"),
               "install libgdal-dev and build again");
}
#endif

int64_t CountryMap::country_at(double lat, double lon) const {
  // Even-odd crossings of a ray towards +lon, per country: inside when odd (holes flip back).
  std::map<int64_t, bool> inside;
  for (size_t r = 0; r < rings_.size(); ++r) {
    const Box& b = ring_box_[r];
    if (lat < b.lat0 || lat > b.lat1 || lon < b.lon0 || lon > b.lon1) continue;
    const auto& ring = rings_[r];
    bool odd = false;
    for (size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
      const LonLat& a = ring[i];
      const LonLat& c = ring[j];
      if ((a.lat > lat) != (c.lat > lat)) {
        const double cross = a.lon + (lat - a.lat) / (c.lat - a.lat) * (c.lon - a.lon);
        if (lon < cross) odd = !odd;
      }
    }
    if (odd) inside[ring_country_[r]] = !inside[ring_country_[r]];
  }
  for (const auto& [country, in] : inside) {
    if (in) return country;
  }
  return -1;
}

std::string default_countries_path() { return SATCLIP_COUNTRIES_SHP; }

}  // namespace satclip::core
