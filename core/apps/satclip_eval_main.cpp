// satclip-eval: what trained location encoders know, side by side: the embedding maps, the probe
// benchmark (tasks x probes x splits, with baselines), the notebook's air-temperature probe and
// geolocalisation.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "core/apps/cli.h"
#include "core/apps/eval_parts.h"
#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/json_text.h"
#include "core/base/text.h"
#include "core/infer/embed.h"
#include "core/recipe/config.h"
#include "core/train/checkpoint/checkpoint_dir.h"
#include "core/train/data/data_verify.h"
#include "distributed/runtime.h"

namespace {

const char* kUsage =
    "usage: satclip-eval --checkpoint [NAME=]PATH [--checkpoint ...] --out DIR [--only PARTS]\n"
    "                    [--tasks LIST] [--task-csv CSV ...] [--probes LIST] [--splits LIST] [--seeds N]\n"
    "                    [--baselines LIST] [--folds K] [--block-deg B] [--mlp-epochs E] [--points N]\n"
    "                    [--grid-deg G] [--bbox LON0,LAT0,LON1,LAT1] [--stage encoder|projection]\n"
    "                    [--stations CSV] [--countries SHP] [--recipe RECIPE.yaml] [--epochs E]\n"
    "                    [--shards DIR [--verify]] [--gallery CSV] [--device auto|cpu|cuda|cuda:N]\n"
    "\n"
    "Evaluates one or more location encoders on identical points and splits and writes DIR/report.json,\n"
    "DIR/report.md and the PNG maps. Parts (--only, comma-separated; default map,tasks, plus geoloc\n"
    "when --shards is given):\n"
    "  map     each encoder's embeddings on a grid of G degrees (default 1; G divides 30, from 0.1 to\n"
    "          30) over the globe or --bbox, the first three principal components as RGB, with a\n"
    "          graticule, Natural Earth's coastlines and borders in black and a title (encoder, stage,\n"
    "          explained variance): map.png, or map-NAME.png each for several checkpoints\n"
    "  tasks   the probe benchmark: every checkpoint and --baselines on --tasks (default\n"
    "          air_temperature, precipitation, countries, land_sea; --task-csv adds a lat,lon,target\n"
    "          CSV, repeatable) with --probes (default mlp, linear, knn) under --splits (default\n"
    "          random: 50/50 per seed, and spatial: --folds K (5) over blocks of --block-deg B (10)\n"
    "          degrees). Regression: MSE of y / max|y| and R2; classification: accuracy and macro-F1;\n"
    "          mean +- std over --seeds (3). report.json \"results\", report.md (tables and timings),\n"
    "          predictions-TASK.png per regression task (truth and each encoder's predictions)\n"
    "  probe   SatCLIP's notebook air-temperature probe, exactly: y = meanT / max(meanT), 50/50 per\n"
    "          seed, MLP D -> 256 -> 64 -> 1 full-batch with Adam (lr 1e-3) for --epochs (3000), test\n"
    "          MSE beside the raw coordinates (one checkpoint)\n"
    "  geoloc  image -> location retrieval of every tile in --shards against --gallery (a CSV with lat\n"
    "          and lon) or the tiles' own locations: top-1/5, accuracy within 1/25/200/750/2500 km,\n"
    "          median error (one checkpoint)\n"
    "\n"
    "  --checkpoint  a satclip-ddp checkpoint, run directory, last.pt/best.pt, a seed-format state dict\n"
    "                (the architecture is inferred, as in satclip-embed) or a SatCLIP Lightning\n"
    "                checkpoint (microsoft/satclip's satclip-*.ckpt); NAME= names it in the tables\n"
    "                (default: the file or folder name)\n"
    "  --baselines   raw (lat/90, lon/180), sincos (sin and cos of lat and lon), untrained (the first\n"
    "                checkpoint's architecture, freshly initialised with seed 0); default raw,sincos;\n"
    "                --baselines '' for none\n"
    "  --mlp-epochs  the benchmark MLP's epochs (default 60): D -> 256 -> 64 -> out, mini-batches of 128,\n"
    "                Adam at 3e-3 with cosine decay (core/eval/probe.h)\n"
    "  --points      points of countries and land_sea (default 2000)\n"
    "  --stage       the location embedding: encoder (default: the location encoder's output, SatCLIP's\n"
    "                downstream embedding) or projection\n"
    "  --stations    the station CSV (Lon, Lat, meanT, meanP; default: the copy in tests/eval/data)\n"
    "  --countries   the countries shapefile (default: Natural Earth's 1:110m, in tests/eval/data)\n"
    "  --recipe      the model section replaces the inference (not for a SatCLIP checkpoint); the data\n"
    "                section gives the image transforms for --shards\n"
    "  --verify      first check --shards with `satclip-pack --verify`; also when the recipe sets\n"
    "                data.verify: true\n"
    "\n"
    "Example (your encoder beside SatCLIP's released one and the raw and sin/cos baselines):\n"
    "  satclip-eval --checkpoint mine=runs/mine --checkpoint satclip=satclip-resnet18-l10.ckpt --out eval\n";

using satclip::cat;
using satclip::json_quote;
namespace sc = satclip::core;
namespace app = satclip::eval_app;

// --checkpoint [NAME=]PATH: NAME= only when the whole text is not itself an existing path.
std::pair<std::string, std::string> name_and_path(const std::string& given) {
  const auto eq = given.find('=');
  if (eq != std::string::npos && eq > 0 && !std::filesystem::exists(given)) return {given.substr(0, eq), given.substr(eq + 1)};
  std::string path = given;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return {path.substr(path.find_last_of('/') + 1), given};
}

int body(int argc, char** argv) {
  const satclip::cli::Args args(argc, argv, {"checkpoint", "out", "recipe", "only", "grid-deg", "stations", "seeds",
                                             "epochs", "stage", "shards", "gallery", "device", "tasks", "task-csv",
                                             "probes", "splits", "block-deg", "folds", "baselines", "points",
                                             "countries", "bbox", "mlp-epochs"},
                                {"verify"}, {"checkpoint", "task-csv"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  SATCLIP_CHECK(args.positional().empty(), cat("unexpected argument '", args.positional().empty() ? "" : args.positional()[0], "'"),
                "see --help");
  const auto given = args.all("checkpoint");
  SATCLIP_CHECK(!given.empty(), "missing option --checkpoint", "see --help for the options");
  const std::string out = args.required("out");
  const std::string only = args.str("only", args.has("shards") ? "map,tasks,geoloc" : "map,tasks");
  for (std::string rest = only + ","; !rest.empty(); rest.erase(0, rest.find(',') + 1)) {
    const std::string part = rest.substr(0, rest.find(','));
    SATCLIP_CHECK(part == "map" || part == "probe" || part == "geoloc" || part == "tasks",
                  cat("--only ", only, ": unknown part '", part, "'"), "give a comma-separated list of map, tasks, probe, geoloc");
  }
  auto wants = [&](const std::string& part) { return ("," + only + ",").find("," + part + ",") != std::string::npos; };
  SATCLIP_CHECK(!wants("geoloc") || args.has("shards"), "--only geoloc needs --shards DIR", "see --help");
  SATCLIP_CHECK(given.size() == 1 || (!wants("probe") && !wants("geoloc")),
                cat("--only ", only, ": the probe and geoloc parts evaluate one --checkpoint, got ", given.size()),
                "compare several checkpoints with --only map,tasks");
  const auto stage = args.choice("stage", satclip::EmbedStage::kEncoder);
  app::Options options = app::read_options(args);  // every option checked before anything is loaded
  options.stage = satclip::option_string(stage);
  std::vector<std::pair<std::string, std::string>> named;
  for (const auto& g : given) {
    named.push_back(name_and_path(g));
    for (size_t i = 0; i + 1 < named.size(); ++i) {
      SATCLIP_CHECK(named[i].first != named.back().first, cat("--checkpoint: two encoders named '", named.back().first, "'"),
                    "name them: --checkpoint NAME=PATH");
    }
  }
  std::unique_ptr<sc::Recipe> recipe;
  if (args.has("recipe")) recipe = std::make_unique<sc::Recipe>(sc::load_recipe(args.str("recipe")));
  const torch::Device device = satclip::dist::this_process_device(args.str("device", "auto"));
  satclip::check_output_dir(out);  // before the checks and the work, not after
  if (wants("geoloc")) sc::verify_shards_before_reading(args.str("shards"), args.has("verify"), recipe.get(), "satclip-eval");
  std::vector<app::Checkpoint> checkpoints;
  for (const auto& [name, path] : named) {
    app::Checkpoint c;
    c.name = name;
    c.path = sc::checkpoint_weights_path(path);
    c.model = sc::load_for_inference(c.path, recipe.get(), device, &c.config);
    checkpoints.push_back(std::move(c));
  }
  std::error_code made;
  std::filesystem::create_directories(out, made);
  SATCLIP_CHECK(!made, cat("--out ", out, ": cannot create the folder: ", made.message()), "write somewhere else");
  std::vector<sc::Encoder> encoders;
  for (auto& c : checkpoints) {
    encoders.push_back({c.name, [&c, stage, device](const torch::Tensor& ll) {
                          return sc::embed_locations(c.model, ll.to(torch::kDouble), stage, device);
                        }});
  }
  std::string report = "{\n  \"checkpoint\": " + json_quote(checkpoints[0].path) + ",\n  \"stage\": " + json_quote(options.stage) +
                       ",\n  \"encoders\": [";
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    report += cat(i ? ", " : "", "{\"name\": ", json_quote(checkpoints[i].name), ", \"checkpoint\": ", json_quote(checkpoints[i].path), "}");
  }
  report += "]";
  std::vector<std::string> maps;
  if (wants("map")) maps = app::map_part(encoders, options, out);
  if (wants("probe")) report += ",\n  " + app::probe_part(encoders[0].embed, options);
  if (wants("geoloc")) report += ",\n  " + app::geoloc_part(checkpoints[0].model, recipe.get(), device, args);
  if (wants("tasks")) {
    auto with_baselines = encoders;
    sc::SatClip untrained{nullptr};
    for (const auto& b : options.baselines) {
      if (b != "untrained") {
        with_baselines.push_back(sc::baseline_encoder(b));
        continue;
      }
      untrained = sc::untrained_like(checkpoints[0].config, device);
      with_baselines.push_back({"untrained", [&untrained, stage, device](const torch::Tensor& ll) {
                                  return sc::embed_locations(untrained, ll.to(torch::kDouble), stage, device);
                                }});
    }
    report += ",\n  " + app::tasks_part(with_baselines, options, out, maps);
  }
  report += ",\n  \"maps\": {";
  for (size_t i = 0; i < maps.size(); ++i) report += (i ? ",\n    " : "\n    ") + maps[i];
  report += "}";
  satclip::write_file_atomically(out + "/report.json", report + "\n}\n");
  std::printf("wrote %s/report.json\n", out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-eval", body, argc, argv); }
