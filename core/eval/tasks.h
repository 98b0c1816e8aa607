// The probe tasks of satclip-eval: where a location embedding's knowledge is measured.
//
//   air_temperature  regression: annual mean air temperature (meanT) at 3,076 stations
//   precipitation    regression: annual precipitation (meanP) at the same stations
//   countries        classification: 2,000 points drawn uniformly on land (seeded), labelled by the
//                    Natural Earth country containing them; countries with fewer than 10 points
//                    are dropped (with their points), so every class can be learnt and tested
//   land_sea         classification: 2,000 points drawn uniformly on the sphere, land or sea
//   --task-csv FILE  lat,lon,target: regression when every target is a number, classification
//                    (labels as text) otherwise
// Regression targets are divided by max |y| (SatCLIP's notebook scale, on which MSE is reported).
// Points on the sphere: u, v uniform in [0, 1) from splitmix64 of (seed, i); lat = asin(2u - 1),
// lon = 360 v - 180 (degrees).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/eval/classic_probes.h"
#include "core/eval/countries.h"

namespace satclip::core {

struct TaskData {
  std::string name;
  ProbeTask kind = ProbeTask::kRegression;
  torch::Tensor lat_lon;             // float64 [N, 2]
  torch::Tensor y;                   // float64 [N] (regression, / max |y|) or int64 [N] labels 0..C-1
  std::vector<std::string> classes;  // classification: the name of each label
  std::string source;
};

inline const std::vector<std::string> kBuiltinTasks = {"air_temperature", "precipitation", "countries", "land_sea"};

TaskData station_task(const std::string& name, const std::string& stations_csv, const std::string& column);
TaskData countries_task(const CountryMap& map, int64_t n, uint64_t seed, int64_t min_per_class = 10);
TaskData land_sea_task(const CountryMap& map, int64_t n, uint64_t seed);
TaskData csv_task(const std::string& path);

// n points uniform on the sphere (see above), float64 [n, 2] (lat, lon).
torch::Tensor sphere_points(int64_t n, uint64_t seed, int64_t first = 0);

}  // namespace satclip::core
