// Countries of the world as polygons (Natural Earth's 1:110m admin-0 countries, public domain;
// tests/eval/data/naturalearth_lowres, from the geopandas 0.14.4 wheel), for labelling points
// (the countries and land_sea probe tasks) and drawing coastlines and borders on maps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace satclip::core {

struct LonLat {
  double lon = 0, lat = 0;
};

class CountryMap {
 public:
  // Reads a polygon shapefile with a string field `name` (GDAL's OGR). Errors name the file and
  // the record; a ring with a non-finite or out-of-range coordinate is refused.
  static CountryMap load(const std::string& path);

  // The index into names() of the country whose polygons contain (lat, lon) (even-odd rule over
  // its rings, holes included), or -1 for none (the sea).
  int64_t country_at(double lat, double lon) const;
  const std::vector<std::string>& names() const { return names_; }
  // Every ring of every country, (lon, lat) degrees, for drawing.
  const std::vector<std::vector<LonLat>>& rings() const { return rings_; }

 private:
  struct Box {
    double lon0, lat0, lon1, lat1;
  };
  std::vector<std::string> names_;
  std::vector<std::vector<LonLat>> rings_;
  std::vector<int64_t> ring_country_;  // ring -> country
  std::vector<Box> ring_box_;
};

// The shipped copy (tests/eval/data/naturalearth_lowres/naturalearth_lowres.shp).
std::string default_countries_path();

}  // namespace satclip::core
