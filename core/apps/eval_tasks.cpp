// satclip-eval's tasks part: the probe benchmark (core/eval/benchmark.h), report.md, and a map of
// the predictions per regression task.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>

#include "core/apps/eval_parts.h"
#include "core/base/fs_util.h"
#include "core/base/json_text.h"
#include "core/eval/classic_probes.h"
#include "core/eval/tasks.h"

namespace satclip::eval_app {
namespace sc = satclip::core;

namespace {

std::vector<double> doubles(const torch::Tensor& t) {
  const auto c = t.to(torch::kCPU, torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::string fixed(double v, int digits) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

// predictions-TASK.png: the truth at every point, then each encoder's seed-0 predictions by the
// first probe under the spatial split (else the random split's test half), on one colour scale.
std::string prediction_map(const sc::TaskData& task, const sc::BenchmarkResult& result, const Options& o,
                           const std::vector<std::vector<sc::LonLat>>& rings, const std::string& out) {
  const std::string probe = o.bench.probes.front();
  const bool spatial = std::count(o.bench.splits.begin(), o.bench.splits.end(), "spatial") > 0;
  const std::string split = spatial ? "spatial" : "random";
  const auto lat = doubles(task.lat_lon.select(1, 0)), lon = doubles(task.lat_lon.select(1, 1));
  const auto truth = doubles(task.y);
  auto sorted = truth;
  std::sort(sorted.begin(), sorted.end());
  const double lo = sorted[size_t(0.02 * double(sorted.size() - 1))], hi = sorted[size_t(0.98 * double(sorted.size() - 1))];
  const sc::MapView view = o.has_bbox ? o.bbox : sc::MapView{};
  std::vector<sc::RgbImage> panels{sc::with_title(
      sc::point_map(view, 720, lat, lon, truth, lo, hi, rings),
      cat(task.name, ": truth at ", truth.size(), " points (y / max|y|; colours ", fixed(lo, 3), " .. ", fixed(hi, 3), ")"))};
  std::string encoders;
  for (const auto& p : result.predictions) {
    if (p.task != task.name || p.probe != probe || p.split != split) continue;
    std::vector<double> plat, plon;
    for (const int64_t r : p.rows) plat.push_back(lat[size_t(r)]), plon.push_back(lon[size_t(r)]);
    const auto rows = torch::tensor(p.rows, torch::kLong);
    const double r2 = sc::r2(p.predicted, task.y.index_select(0, rows));
    panels.push_back(sc::with_title(sc::point_map(view, 720, plat, plon, doubles(p.predicted), lo, hi, rings),
                                    cat(p.encoder, ": ", probe, " probe, ", split, " split, seed 0, R2 ", fixed(r2, 3))));
    encoders += (encoders.empty() ? "" : ", ") + json_quote(p.encoder);
  }
  const std::string png = "predictions-" + file_safe(task.name) + ".png";
  sc::write_png(out + "/" + png, sc::stack(panels));
  return cat(json_quote(png), ": {\"kind\": \"predictions\", \"task\": ", json_quote(task.name), ", \"probe\": ",
             json_quote(probe), ", \"split\": ", json_quote(split), ", \"seed\": 0, \"encoders\": [", encoders, "]}");
}

std::string timing_markdown(const std::vector<sc::ResultRow>& rows) {
  std::vector<std::string> encoders, probes;
  std::map<std::pair<std::string, std::string>, double> seconds;
  for (const auto& r : rows) {
    if (std::find(encoders.begin(), encoders.end(), r.encoder) == encoders.end()) encoders.push_back(r.encoder);
    if (std::find(probes.begin(), probes.end(), r.probe) == probes.end()) probes.push_back(r.probe);
    // Every metric row of one (encoder, task, probe, split) carries the same time: count it once.
    if (r.metric == "mse" || r.metric == "accuracy") seconds[{r.encoder, r.probe}] += r.seconds;
  }
  std::string md = "\n### time (seconds, all tasks, splits and seeds)\n\n| encoder |";
  for (const auto& p : probes) md += " " + p + " |";
  md += "\n|---|";
  for (size_t i = 0; i < probes.size(); ++i) md += "---|";
  for (const auto& e : encoders) {
    md += "\n| " + e + " |";
    for (const auto& p : probes) md += " " + fixed(seconds[{e, p}], 1) + " |";
  }
  return md + "\n";
}

}  // namespace

std::string tasks_part(const std::vector<sc::Encoder>& encoders, const Options& o, const std::string& out,
                       std::vector<std::string>& maps) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<sc::TaskData> tasks;
  std::unique_ptr<sc::CountryMap> map;
  for (const auto& t : o.tasks) {
    if (t == "air_temperature") tasks.push_back(sc::station_task(t, o.stations, "meanT"));
    if (t == "precipitation") tasks.push_back(sc::station_task(t, o.stations, "meanP"));
    if ((t == "countries" || t == "land_sea") && !map) map = std::make_unique<sc::CountryMap>(sc::CountryMap::load(o.countries));
    if (t == "countries") tasks.push_back(sc::countries_task(*map, o.points, 0));
    if (t == "land_sea") tasks.push_back(sc::land_sea_task(*map, o.points, 0));
  }
  for (const auto& csv : o.task_csvs) tasks.push_back(sc::csv_task(csv));
  const auto result = sc::run_benchmark(encoders, tasks, o.bench);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string md = "# satclip-eval: probe benchmark\n\nEncoders: ";
  for (size_t i = 0; i < encoders.size(); ++i) md += (i ? ", " : "") + encoders[i].name;
  md += cat(". Mean ± std over ", o.bench.seeds, " seeds; random: a 50/50 split per seed; spatial: ", o.bench.folds,
            " folds over ", o.bench.block_deg, "-degree blocks. Regression: MSE of y / max|y| and R²; classification: "
            "accuracy and macro-F1. ", fixed(seconds, 1), " s in all.\n\n");
  for (const auto& t : tasks) md += cat("- ", t.name, ": ", t.lat_lon.size(0), " points, ", t.source, "\n");
  md += sc::results_markdown(result.rows) + timing_markdown(result.rows);
  const auto rings = sc::CountryMap::load(o.countries).rings();
  for (const auto& t : tasks) {
    if (t.kind == sc::ProbeTask::kRegression) maps.push_back(prediction_map(t, result, o, rings, out));
  }
  write_file_atomically(out + "/report.md", md);
  std::fputs(sc::results_markdown(result.rows).c_str(), stdout);
  std::printf("\ntasks: %zu tasks x %zu encoders x %zu probes x %zu splits in %.1f s; %s/report.md\n", tasks.size(),
              encoders.size(), o.bench.probes.size(), o.bench.splits.size(), seconds, out.c_str());
  return "\"results\": " + sc::results_json(result.rows);
}

}  // namespace satclip::eval_app
