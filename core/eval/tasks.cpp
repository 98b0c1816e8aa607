#include "core/eval/tasks.h"

#include <cmath>
#include <map>

#include "core/base/error.h"
#include "core/base/hash.h"
#include "core/base/text.h"
#include "core/infer/coords_csv.h"

namespace satclip::core {
namespace {

constexpr double kPi = 3.14159265358979323846;

double uniform(uint64_t key) { return double(splitmix64(key) >> 11) * 0x1.0p-53; }

torch::Tensor lat_lon_of(const std::vector<LatLon>& c) {
  auto t = torch::empty({int64_t(c.size()), 2}, torch::kDouble);
  auto* p = t.data_ptr<double>();
  for (size_t i = 0; i < c.size(); ++i) p[2 * i] = c[i].lat, p[2 * i + 1] = c[i].lon;
  return t;
}

// Labels as 0..C-1 in the sorted order of their names.
void set_labels(TaskData& t, const std::vector<std::string>& names) {
  std::map<std::string, int64_t> index;
  for (const auto& n : names) index.emplace(n, 0);
  int64_t k = 0;
  for (auto& [name, i] : index) i = k++, t.classes.push_back(name);
  std::vector<int64_t> y;
  for (const auto& n : names) y.push_back(index[n]);
  t.y = torch::tensor(y, torch::kLong);
}

torch::Tensor scaled(const std::vector<double>& v, const std::string& what) {
  auto y = torch::tensor(v, torch::kDouble);
  const double top = y.abs().max().item<double>();
  SATCLIP_CHECK(top > 0, cat(what, ": every target is 0"), "a regression target must vary");
  return y / top;
}

}  // namespace

torch::Tensor sphere_points(int64_t n, uint64_t seed, int64_t first) {
  auto t = torch::empty({n, 2}, torch::kDouble);
  auto* p = t.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t key = seeded_key(seed, 2 * uint64_t(first + i));
    p[2 * i] = std::asin(2 * uniform(key) - 1) * 180 / kPi;
    p[2 * i + 1] = 360 * uniform(key + 1) - 180;
  }
  return t;
}

TaskData station_task(const std::string& name, const std::string& stations_csv, const std::string& column) {
  std::vector<double> v;
  const auto coords = read_coords_csv(stations_csv, column, v);
  SATCLIP_CHECK(coords.size() >= 20, cat(stations_csv, ": ", coords.size(), " stations, a task needs at least 20"),
                cat("give a CSV with Lat, Lon and ", column, " columns"));
  TaskData t;
  t.name = name;
  t.kind = ProbeTask::kRegression;
  t.lat_lon = lat_lon_of(coords);
  t.y = scaled(v, stations_csv);
  t.source = stations_csv + " (" + column + ")";
  return t;
}

TaskData countries_task(const CountryMap& map, int64_t n, uint64_t seed, int64_t min_per_class) {
  std::vector<LatLon> points;
  std::vector<std::string> names;
  for (int64_t i = 0; int64_t(points.size()) < n; i += 1024) {  // about 29 % of the sphere is land
    const auto batch = sphere_points(1024, seed, i);
    const double* ll = batch.data_ptr<double>();
    for (int64_t j = 0; j < 1024 && int64_t(points.size()) < n; ++j) {
      const double lat = ll[2 * j], lon = ll[2 * j + 1];
      const int64_t c = map.country_at(lat, lon);
      if (c >= 0) points.push_back({lat, lon}), names.push_back(map.names()[size_t(c)]);
    }
  }
  std::map<std::string, int64_t> count;
  for (const auto& name : names) ++count[name];
  std::vector<LatLon> kept;
  std::vector<std::string> kept_names;
  for (size_t i = 0; i < names.size(); ++i) {
    if (count[names[i]] >= min_per_class) kept.push_back(points[i]), kept_names.push_back(names[i]);
  }
  TaskData t;
  t.name = "countries";
  t.kind = ProbeTask::kClassification;
  t.lat_lon = lat_lon_of(kept);
  set_labels(t, kept_names);
  t.source = cat(n, " points uniform on land, countries with >= ", min_per_class, " of them (", kept.size(), " points kept)");
  return t;
}

TaskData land_sea_task(const CountryMap& map, int64_t n, uint64_t seed) {
  TaskData t;
  t.name = "land_sea";
  t.kind = ProbeTask::kClassification;
  t.lat_lon = sphere_points(n, seed);
  std::vector<std::string> names;
  const double* ll = t.lat_lon.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) names.push_back(map.country_at(ll[2 * i], ll[2 * i + 1]) >= 0 ? "land" : "sea");
  set_labels(t, names);
  t.source = cat(n, " points uniform on the sphere");
  return t;
}

TaskData csv_task(const std::string& path) {
  std::vector<std::string> text;
  std::vector<int64_t> lines;
  const auto coords = read_coords_csv_rows(path, "target", [&](int64_t line, const std::string& v) {
    SATCLIP_CHECK(!v.empty(), cat(path, ":", line, ": the target is empty"), "every row needs a target");
    text.push_back(v);
    lines.push_back(line);
  });
  SATCLIP_CHECK(coords.size() >= 20, cat(path, ": ", coords.size(), " rows, a task needs at least 20"),
                "give a CSV with lat, lon and target columns");
  TaskData t;
  t.name = path.substr(path.find_last_of('/') + 1);
  t.lat_lon = lat_lon_of(coords);
  t.source = path;
  std::vector<double> numbers;
  for (const auto& v : text) {
    double x = 0;
    if (!parse_decimal(v, x)) break;
    numbers.push_back(x);
  }
  if (numbers.size() == text.size()) {
    t.kind = ProbeTask::kRegression;
    t.y = scaled(numbers, path);
  } else {
    t.kind = ProbeTask::kClassification;
    set_labels(t, text);
    SATCLIP_CHECK(t.classes.size() >= 2, cat(path, ": one class ('", t.classes.front(), "')"),
                  "a classification target needs at least two labels");
  }
  return t;
}

}  // namespace satclip::core
