#include "core/apps/eval_parts.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/base/error.h"
#include "core/base/json_text.h"
#include "core/base/text.h"
#include "core/eval/geoloc.h"
#include "core/eval/probe.h"
#include "core/eval/world_map.h"
#include "core/infer/coords_csv.h"
#include "core/infer/data_options.h"

namespace satclip::eval_app {
namespace sc = satclip::core;

namespace {

std::string json_list(const std::vector<double>& v) {
  std::ostringstream out;
  out.precision(8);
  out << "[";
  for (size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
  return out.str() + "]";
}

std::string probe_json(const sc::ProbeResult& r) {
  std::ostringstream out;
  out.precision(8);
  out << "{\"test_mse\": " << json_list(r.test_mse) << ", \"mean\": " << r.mean() << ", \"std\": " << r.std() << "}";
  return out.str();
}

std::vector<std::string> list_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::string rest = text + ","; !rest.empty(); rest.erase(0, rest.find(',') + 1)) {
    if (rest.find(',') > 0) out.push_back(rest.substr(0, rest.find(',')));
  }
  return out;
}

// --NAME as a comma-separated list, each item one of `allowed`.
std::vector<std::string> choices(const cli::Args& args, const std::string& name, const std::vector<std::string>& allowed,
                                 const std::string& fallback) {
  const auto items = list_of(args.str(name, fallback));
  std::string all;
  for (const auto& a : allowed) all += (all.empty() ? "" : ", ") + a;
  for (const auto& i : items) {
    SATCLIP_CHECK(std::find(allowed.begin(), allowed.end(), i) != allowed.end(), cat("--", name, ": unknown '", i, "'"),
                  cat("give a comma-separated list of ", all));
  }
  return items;
}

double decimal(const cli::Args& args, const std::string& name, double fallback, double lo, double hi) {
  if (!args.has(name)) return fallback;
  double v = 0;
  const std::string text = args.str(name);
  SATCLIP_CHECK(parse_decimal(text, v) && v >= lo && v <= hi, cat("--", name, " ", text, " is not a number in [", lo, ", ", hi, "]"),
                "see --help");
  return v;
}

}  // namespace

Options read_options(const cli::Args& args) {
  Options o;
  const std::string g = args.str("grid-deg", "1");
  SATCLIP_CHECK(parse_decimal(g, o.grid_deg), cat("--grid-deg ", g, " is not a number"), "e.g. --grid-deg 1");
  sc::grid_cells_per_30_deg(o.grid_deg);
  o.seeds = args.integer("seeds", o.seeds, 1, 100);
  o.epochs = args.integer("epochs", o.epochs, 1, 1000000);
  if (args.has("bbox")) o.has_bbox = true, o.bbox = sc::parse_bbox(args.str("bbox"));
  o.task_csvs = args.all("task-csv");
  o.tasks = choices(args, "tasks", sc::kBuiltinTasks, args.has("task-csv") ? "" : "air_temperature,precipitation,countries,land_sea");
  o.baselines = choices(args, "baselines", {"raw", "sincos", "untrained"}, "raw,sincos");
  auto& b = o.bench;
  b.probes = choices(args, "probes", {"mlp", "linear", "knn"}, "mlp,linear,knn");
  b.splits = choices(args, "splits", {"random", "spatial"}, "random,spatial");
  b.seeds = o.seeds;
  b.folds = args.integer("folds", b.folds, 2, 100);
  b.block_deg = decimal(args, "block-deg", b.block_deg, 1e-3, 180);
  b.mlp.epochs = args.integer("mlp-epochs", b.mlp.epochs, 1, 100000);
  o.points = args.integer("points", o.points, 50, 1000000);
  o.stations = args.str("stations", SATCLIP_STATIONS_CSV);
  o.countries = args.str("countries", sc::default_countries_path());
  return o;
}

std::string file_safe(const std::string& name) {
  std::string s = name;
  for (auto& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  return s;
}

std::vector<std::string> map_part(const std::vector<sc::Encoder>& encoders, const Options& o, const std::string& out) {
  const auto rings = sc::CountryMap::load(o.countries).rings();
  std::vector<std::string> entries;
  for (const auto& enc : encoders) {
    const sc::MapView region = o.has_bbox ? o.bbox : sc::MapView{};
    const double span = region.lon1 - region.lon0;
    const int64_t cells = int64_t(std::ceil(span / o.grid_deg - 1e-9));
    const int64_t pixels = o.has_bbox ? std::clamp<int64_t>(1440 / std::max<int64_t>(cells, 1), 1, 16) : (o.grid_deg >= 1 ? 4 : 1);
    auto m = sc::embedding_world_map(enc.embed, o.grid_deg, pixels, region);
    sc::draw_outlines(m.image, rings, m.view);
    const auto ex = [&](size_t i) { return m.explained.size() > i ? 100 * m.explained[i] : 0.0; };
    char title[512];
    std::snprintf(title, sizeof title, "%s: %s embedding, PCA as RGB: %.1f / %.1f / %.1f %% of the variance",
                  enc.name.c_str(), o.stage.c_str(), ex(0), ex(1), ex(2));
    const std::string png = encoders.size() == 1 ? "map.png" : "map-" + file_safe(enc.name) + ".png";
    sc::write_png(out + "/" + png, sc::with_title(m.image, title));
    std::printf("map: %s/%s (%lld x %lld cells); the first three components explain %.1f / %.1f / %.1f %% of the "
                "variance\n", out.c_str(), png.c_str(), (long long)m.rows, (long long)m.cols, ex(0), ex(1), ex(2));
    std::ostringstream j;
    j.precision(8);
    j << json_quote(png) << ": {\"kind\": \"embedding\", \"encoder\": " << json_quote(enc.name)
      << ", \"stage\": " << json_quote(o.stage) << ", \"grid_deg\": " << o.grid_deg << ", \"cells\": [" << m.rows
      << ", " << m.cols << "], \"bbox\": " << json_list({m.view.lon0, m.view.lat0, m.view.lon1, m.view.lat1})
      << ", \"explained_variance\": " << json_list(m.explained) << "}";
    entries.push_back(j.str());
  }
  return entries;
}

std::string probe_part(const sc::LocationEmbedder& embed, const Options& opt) {
  std::vector<double> mean_t;
  const auto coords = sc::read_coords_csv(opt.stations, "meanT", mean_t);
  SATCLIP_CHECK(coords.size() >= 8, cat(opt.stations, ": ", coords.size(), " stations, the probe needs at least 8"),
                "give a CSV with Lat, Lon and meanT columns");
  const int64_t n = int64_t(coords.size());
  auto ll = torch::empty({n, 2}, torch::kDouble);
  auto y = torch::empty({n}, torch::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    ll[i][0] = coords[size_t(i)].lat;
    ll[i][1] = coords[size_t(i)].lon;
    y[i] = mean_t[size_t(i)];
  }
  SATCLIP_CHECK(y.max().item<double>() > 0, cat(opt.stations, ": the largest meanT is not positive"),
                "the probe's target is meanT / max(meanT); give temperatures in Kelvin or with a positive maximum");
  y = (y / y.max()).to(torch::kFloat);
  sc::ProbeOptions o;
  o.seeds.clear();
  for (int64_t s = 0; s < opt.seeds; ++s) o.seeds.push_back(s);
  o.epochs = opt.epochs;
  const auto raw = sc::baseline_encoder("raw").embed(ll);
  const auto emb = embed(ll.to(torch::kFloat)).to(torch::kCPU, torch::kFloat);
  const sc::ProbeResult r_emb = sc::run_probe(emb, y, o), r_raw = sc::run_probe(raw, y, o);
  std::printf("air-temperature probe (%lld stations, %zu seeds, %lld epochs): test MSE %.4f +- %.4f with the "
              "embedding (%lld-d), %.4f +- %.4f with raw coordinates\n", (long long)n, o.seeds.size(),
              (long long)o.epochs, r_emb.mean(), r_emb.std(), (long long)emb.size(1), r_raw.mean(), r_raw.std());
  std::ostringstream j;
  j << "\"probe\": {\"stations\": " << json_quote(opt.stations) << ", \"n\": " << n << ", \"seeds\": " << o.seeds.size()
    << ", \"epochs\": " << o.epochs << ", \"embedding_dim\": " << emb.size(1) << ",\n    \"embedding\": "
    << probe_json(r_emb) << ",\n    \"raw_coordinates\": " << probe_json(r_raw) << "}";
  return j.str();
}

std::string geoloc_part(sc::SatClip& model, const sc::Recipe* recipe, const torch::Device& device,
                        const cli::Args& args) {
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

}  // namespace satclip::eval_app
