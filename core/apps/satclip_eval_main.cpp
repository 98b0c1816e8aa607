// satclip-eval: what a trained location encoder knows: the embedding world map, the
// air-temperature probe (with the raw-coordinate baseline beside it) and geolocalisation.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <filesystem>
#include <sstream>
#include <string>

#include "core/apps/cli.h"
#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/json_text.h"
#include "core/base/text.h"
#include "core/eval/benchmark.h"
#include "core/eval/geoloc.h"
#include "core/eval/probe.h"
#include "core/eval/world_map.h"
#include "core/recipe/config.h"
#include "core/train/checkpoint_dir.h"
#include "core/train/coords_csv.h"
#include "core/train/data_setup.h"
#include "core/train/data_verify.h"
#include "core/train/embed.h"
#include "distributed/runtime.h"

namespace {

const char* kUsage =
    "usage: satclip-eval --checkpoint PATH --out DIR [--recipe RECIPE.yaml] [--only map,probe,geoloc,tasks]\n"
    "                    [--grid-deg G] [--stations CSV] [--seeds N] [--epochs E] [--stage encoder|projection]\n"
    "                    [--shards DIR [--verify]] [--gallery CSV] [--device auto|cpu|cuda|cuda:N]\n"
    "                    [--tasks LIST] [--task-csv CSV] [--probes LIST] [--splits LIST] [--block-deg B]\n"
    "                    [--folds K] [--baselines LIST] [--points N] [--countries SHP]\n"
    "\n"
    "Writes DIR/report.json and, for the map, DIR/map.png. Parts (default: map and probe, plus geoloc\n"
    "when --shards is given):\n"
    "  map     location embeddings on a global grid of G degrees (default 1; G divides 30, from 0.1\n"
    "          to 30), the first three principal components as RGB, equirectangular with a\n"
    "          30-degree graticule, coastlines and borders (--countries) in black\n"
    "  probe   the air-temperature probe: y = meanT / max(meanT), a 50/50 split per seed, an MLP\n"
    "          D -> 256 -> 64 -> 1 trained full-batch with Adam (lr 1e-3) for E epochs (default 3000),\n"
    "          test MSE over N seeds (default 3) as mean +- std; the raw coordinates (lat/90, lon/180)\n"
    "          are probed beside the embedding\n"
    "  geoloc  image -> location retrieval of every tile in --shards against --gallery (a CSV with lat\n"
    "          and lon) or the tiles' own locations: top-1/5, accuracy within 1/25/200/750/2500 km,\n"
    "          median error\n"
    "  tasks   (only when asked for) the probe benchmark: the embedding and the --baselines on\n"
    "          --tasks (default air_temperature, precipitation, countries, land_sea; --task-csv adds\n"
    "          a lat,lon,target CSV) with --probes (mlp, linear: ridge, knn) under --splits (random:\n"
    "          50/50 per seed; spatial: --folds K over blocks of --block-deg degrees, default 5 and\n"
    "          10), identical splits for every encoder; MSE of y / max|y| and R2, or accuracy and\n"
    "          macro-F1, mean +- std over --seeds; report.json \"results\" and report.md.\n"
    "          --points: points of countries and land_sea (2000); --countries: the shapefile\n"
    "          (default: Natural Earth's, in tests/eval/data; also the map's outlines);\n"
    "          --baselines: raw, sincos (both)\n"
    "\n"
    "  --checkpoint  a satclip-ddp checkpoint, run directory, last.pt/best.pt, a seed-format state\n"
    "                dict (the architecture is inferred, as in satclip-embed) or a SatCLIP Lightning\n"
    "                checkpoint (microsoft/satclip's released satclip-*.ckpt)\n"
    "  --stage       the location embedding for map and probe: encoder (default: the location\n"
    "                encoder's output, SatCLIP's downstream embedding) or projection\n"
    "  --stations    the station CSV (Lon, Lat, meanT columns; default: the copy in tests/eval/data)\n"
    "  --recipe      the model section replaces the inference (not for a SatCLIP checkpoint); the\n"
    "                data section gives the image transforms for --shards\n"
    "  --verify      first check --shards with `satclip-pack --verify` (every tile read back in\n"
    "                limited child processes; a directory from elsewhere); also when the recipe sets\n"
    "                data.verify: true\n";

std::string json_list(const std::vector<double>& v) {
  std::ostringstream out;
  out.precision(8);
  out << "[";
  for (size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
  return out.str() + "]";
}

std::string probe_json(const satclip::core::ProbeResult& r) {
  std::ostringstream out;
  out.precision(8);
  out << "{\"test_mse\": " << json_list(r.test_mse) << ", \"mean\": " << r.mean() << ", \"std\": " << r.std() << "}";
  return out.str();
}

using satclip::cat;
using satclip::json_quote;
namespace sc = satclip::core;

// The numeric options, read and checked before anything is loaded or computed.
struct Numbers {
  double grid_deg = 1;
  int64_t seeds = 3, epochs = 3000;
};

Numbers read_numbers(const satclip::cli::Args& args) {
  Numbers n;
  const std::string g = args.str("grid-deg", "1");
  SATCLIP_CHECK(satclip::parse_decimal(g, n.grid_deg), cat("--grid-deg ", g, " is not a number"), "e.g. --grid-deg 1");
  sc::grid_cells_per_30_deg(n.grid_deg);
  n.seeds = args.integer("seeds", n.seeds, 1, 100);
  n.epochs = args.integer("epochs", n.epochs, 1, 1000000);
  return n;
}

// Each part prints one line and returns its report.json member ("\"name\": {...}").
std::string map_part(const sc::LocationEmbedder& embed, double grid, const std::string& out, const std::string& countries) {
  auto m = sc::embedding_world_map(embed, grid, grid >= 1 ? 4 : 1);
  sc::draw_outlines(m.image, sc::CountryMap::load(countries).rings());
  sc::write_png(out + "/map.png", m.image);
  std::printf("map: %s/map.png (%lld x %lld px); the first three components explain %.1f / %.1f / %.1f %% of the "
              "variance\n", out.c_str(), (long long)m.image.width, (long long)m.image.height,
              100 * m.explained.at(0), m.explained.size() > 1 ? 100 * m.explained[1] : 0.0,
              m.explained.size() > 2 ? 100 * m.explained[2] : 0.0);
  std::ostringstream j;
  j.precision(8);
  j << "\"map\": {\"png\": \"map.png\", \"grid_deg\": " << grid << ", \"cells\": [" << m.rows << ", " << m.cols
    << "], \"explained_variance\": " << json_list(m.explained) << "}";
  return j.str();
}

std::string probe_part(const sc::LocationEmbedder& embed, const satclip::cli::Args& args, const Numbers& numbers) {
  const std::string stations = args.str("stations", SATCLIP_STATIONS_CSV);
  std::vector<double> mean_t;
  const auto coords = sc::read_coords_csv(stations, "meanT", mean_t);
  SATCLIP_CHECK(coords.size() >= 8, cat(stations, ": ", coords.size(), " stations, the probe needs at least 8"),
                "give a CSV with Lat, Lon and meanT columns");
  const int64_t n = int64_t(coords.size());
  auto ll = torch::empty({n, 2}, torch::kDouble);
  auto y = torch::empty({n}, torch::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    ll[i][0] = coords[size_t(i)].lat;
    ll[i][1] = coords[size_t(i)].lon;
    y[i] = mean_t[size_t(i)];
  }
  SATCLIP_CHECK(y.max().item<double>() > 0, cat(stations, ": the largest meanT is not positive"),
                "the probe's target is meanT / max(meanT); give temperatures in Kelvin or with a positive maximum");
  y = (y / y.max()).to(torch::kFloat);
  sc::ProbeOptions o;
  o.seeds.clear();
  for (int64_t s = 0; s < numbers.seeds; ++s) o.seeds.push_back(s);
  o.epochs = numbers.epochs;
  const auto raw = torch::stack({ll.select(1, 0) / 90.0, ll.select(1, 1) / 180.0}, 1).to(torch::kFloat);
  const auto emb = embed(ll.to(torch::kFloat)).to(torch::kCPU, torch::kFloat);
  const sc::ProbeResult r_emb = sc::run_probe(emb, y, o), r_raw = sc::run_probe(raw, y, o);
  std::printf("air-temperature probe (%lld stations, %zu seeds, %lld epochs): test MSE %.4f +- %.4f with the "
              "embedding (%lld-d), %.4f +- %.4f with raw coordinates\n", (long long)n, o.seeds.size(),
              (long long)o.epochs, r_emb.mean(), r_emb.std(), (long long)emb.size(1), r_raw.mean(), r_raw.std());
  std::ostringstream j;
  j << "\"probe\": {\"stations\": " << json_quote(stations) << ", \"n\": " << n << ", \"seeds\": " << o.seeds.size()
    << ", \"epochs\": " << o.epochs << ", \"embedding_dim\": " << emb.size(1) << ",\n    \"embedding\": "
    << probe_json(r_emb) << ",\n    \"raw_coordinates\": " << probe_json(r_raw) << "}";
  return j.str();
}

std::string geoloc_part(sc::SatClip& model, const sc::Recipe* recipe,
                        const torch::Device& device, const satclip::cli::Args& args) {
  const auto dataset = satclip::data::ShardedDataset::open(args.str("shards"));
  torch::Tensor gallery;
  if (args.has("gallery")) {
    const auto g = sc::read_coords_csv(args.str("gallery"));
    gallery = torch::empty({int64_t(g.size()), 2}, torch::kDouble);
    for (size_t i = 0; i < g.size(); ++i) gallery[int64_t(i)][0] = g[i].lat, gallery[int64_t(i)][1] = g[i].lon;
  }
  const sc::DataConfig data = recipe ? recipe->data : sc::DataConfig{};
  const bool cosine = model->logit_scale.defined();
  const auto m = sc::geolocalise(model, dataset, sc::transform_options(data), device, gallery, cosine);
  std::printf("geolocalisation (%lld tiles): top-1 %.2f %%, within 1/25/200/750/2500 km %.1f/%.1f/%.1f/%.1f/%.1f %%, "
              "median %.0f km\n", (long long)m.n, 100 * m.top1, 100 * m.within[0], 100 * m.within[1],
              100 * m.within[2], 100 * m.within[3], 100 * m.within[4], m.median_km);
  std::ostringstream j;
  j.precision(8);
  const std::string gallery_name = args.has("gallery") ? args.str("gallery") : "the tiles' own locations";
  j << "\"geolocalisation\": {\"queries\": " << m.n << ", \"gallery\": " << json_quote(gallery_name)
    << ", \"top1\": " << m.top1 << ", \"top5\": " << m.top5 << ", \"radii_km\": " << json_list(sc::geoloc_radii_km())
    << ", \"within\": " << json_list(m.within) << ", \"median_km\": " << m.median_km << "}";
  return j.str();
}

std::vector<std::string> list_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::string rest = text + ","; !rest.empty(); rest.erase(0, rest.find(',') + 1)) {
    if (rest.find(',') > 0) out.push_back(rest.substr(0, rest.find(',')));
  }
  return out;
}

// Checks every name of --NAME against `allowed`.
std::vector<std::string> choices(const satclip::cli::Args& args, const std::string& name,
                                 const std::vector<std::string>& allowed, const std::string& fallback) {
  const auto items = list_of(args.str(name, fallback));
  std::string all;
  for (const auto& a : allowed) all += (all.empty() ? "" : ", ") + a;
  for (const auto& i : items) {
    SATCLIP_CHECK(std::find(allowed.begin(), allowed.end(), i) != allowed.end(),
                  cat("--", name, ": unknown '", i, "'"), cat("give a comma-separated list of ", all));
  }
  return items;
}

std::string tasks_part(const sc::LocationEmbedder& embed, const std::string& name, const satclip::cli::Args& args,
                       const Numbers& numbers, const std::string& out) {
  const auto task_names = choices(args, "tasks", sc::kBuiltinTasks, args.has("task-csv") ? "" : "air_temperature,precipitation,countries,land_sea");
  sc::BenchmarkOptions o;
  o.probes = choices(args, "probes", {"mlp", "linear", "knn"}, "mlp,linear,knn");
  o.splits = choices(args, "splits", {"random", "spatial"}, "random,spatial");
  o.seeds = numbers.seeds;
  o.epochs = numbers.epochs;
  o.folds = args.integer("folds", 5, 2, 100);
  const std::string block = args.str("block-deg", "10");
  SATCLIP_CHECK(satclip::parse_decimal(block, o.block_deg) && o.block_deg > 0 && o.block_deg <= 180,
                cat("--block-deg ", block, " is not a number in (0, 180]"), "e.g. --block-deg 10");
  const int64_t points = args.integer("points", 2000, 50, 1000000);
  const std::string stations = args.str("stations", SATCLIP_STATIONS_CSV);
  std::vector<sc::TaskData> tasks;
  std::unique_ptr<sc::CountryMap> map;
  for (const auto& t : task_names) {
    if (t == "air_temperature") tasks.push_back(sc::station_task(t, stations, "meanT"));
    if (t == "precipitation") tasks.push_back(sc::station_task(t, stations, "meanP"));
    if ((t == "countries" || t == "land_sea") && !map) {
      map = std::make_unique<sc::CountryMap>(sc::CountryMap::load(args.str("countries", sc::default_countries_path())));
    }
    if (t == "countries") tasks.push_back(sc::countries_task(*map, points, 0));
    if (t == "land_sea") tasks.push_back(sc::land_sea_task(*map, points, 0));
  }
  if (args.has("task-csv")) tasks.push_back(sc::csv_task(args.str("task-csv")));
  std::vector<sc::Encoder> encoders{{name, embed}};
  for (const auto& b : choices(args, "baselines", sc::kBaselines, "raw,sincos")) encoders.push_back(sc::baseline_encoder(b));
  const auto rows = sc::run_benchmark(encoders, tasks, o);
  std::string md = "# satclip-eval: probe benchmark\n\nEncoders: ";
  for (size_t i = 0; i < encoders.size(); ++i) md += (i ? ", " : "") + encoders[i].name;
  md += cat("; mean +- std over ", o.seeds, " seeds; spatial: ", o.folds, " folds over ", o.block_deg, "-degree blocks.\n");
  for (const auto& t : tasks) md += cat("- ", t.name, ": ", t.lat_lon.size(0), " points, ", t.source, "\n");
  md += sc::results_markdown(rows);
  satclip::write_file_atomically(out + "/report.md", md);
  std::printf("tasks: %zu tasks x %zu encoders x %zu probes x %zu splits; %s/report.md\n", tasks.size(), encoders.size(),
              o.probes.size(), o.splits.size(), out.c_str());
  return "\"results\": " + sc::results_json(rows);
}

int body(int argc, char** argv) {
  const satclip::cli::Args args(argc, argv, {"checkpoint", "out", "recipe", "only", "grid-deg", "stations", "seeds",
                                             "epochs", "stage", "shards", "gallery", "device", "tasks", "task-csv",
                                             "probes", "splits", "block-deg", "folds", "baselines", "points",
                                             "countries"},
                                {"verify"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string given = args.required("checkpoint");
  const std::string out = args.required("out");
  const std::string only = args.str("only", args.has("shards") ? "map,probe,geoloc" : "map,probe");
  for (std::string rest = only + ","; !rest.empty(); rest.erase(0, rest.find(',') + 1)) {
    const std::string part = rest.substr(0, rest.find(','));
    SATCLIP_CHECK(part == "map" || part == "probe" || part == "geoloc" || part == "tasks",
                  cat("--only ", only, ": unknown part '", part, "'"),
                  "give a comma-separated list of map, probe, geoloc, tasks");
  }
  auto wants = [&](const std::string& part) { return ("," + only + ",").find("," + part + ",") != std::string::npos; };
  SATCLIP_CHECK(!wants("geoloc") || args.has("shards"), "--only geoloc needs --shards DIR", "see --help");
  const auto stage = args.choice("stage", satclip::EmbedStage::kEncoder);
  const Numbers numbers = read_numbers(args);
  if (wants("tasks")) {  // checked before anything is loaded; tasks_part reads them again
    choices(args, "tasks", sc::kBuiltinTasks, "");
    choices(args, "probes", {"mlp", "linear", "knn"}, "");
    choices(args, "splits", {"random", "spatial"}, "");
    choices(args, "baselines", sc::kBaselines, "");
    args.integer("folds", 5, 2, 100);
    args.integer("points", 2000, 50, 1000000);
  }
  std::unique_ptr<sc::Recipe> recipe;
  if (args.has("recipe")) recipe = std::make_unique<sc::Recipe>(sc::load_recipe(args.str("recipe")));
  const torch::Device device = satclip::dist::this_process_device(args.str("device", "auto"));
  satclip::check_output_dir(out);  // before the checks and the work, not after
  if (wants("geoloc")) {
    sc::verify_shards_before_reading(args.str("shards"), args.has("verify"), recipe.get(), "satclip-eval");
  }
  const std::string checkpoint = sc::checkpoint_weights_path(given);  // the options first, then the files
  auto model = sc::load_for_inference(checkpoint, recipe.get(), device);
  std::error_code made;
  std::filesystem::create_directories(out, made);
  SATCLIP_CHECK(!made, cat("--out ", out, ": cannot create the folder: ", made.message()), "write somewhere else");
  const sc::LocationEmbedder embed = [&](const torch::Tensor& ll) {
    return sc::embed_locations(model, ll.to(torch::kDouble), stage, device);
  };
  std::string report = "{\n  \"checkpoint\": " + json_quote(checkpoint) +
                       ",\n  \"stage\": " + json_quote(satclip::option_string(stage));
  if (wants("map")) report += ",\n  " + map_part(embed, numbers.grid_deg, out, args.str("countries", sc::default_countries_path()));
  if (wants("probe")) report += ",\n  " + probe_part(embed, args, numbers);
  if (wants("geoloc")) report += ",\n  " + geoloc_part(model, recipe.get(), device, args);
  if (wants("tasks")) {
    const std::string name = checkpoint.substr(checkpoint.find_last_of('/') + 1);
    report += ",\n  " + tasks_part(embed, name, args, numbers, out);
  }
  satclip::write_file_atomically(out + "/report.json", report + "\n}\n");
  std::printf("wrote %s/report.json\n", out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-eval", body, argc, argv); }
