// satclip-eval's parts (satclip_eval_main.cpp reads the options and loads the encoders). Each part
// prints a line or a table and returns its report.json members ("\"name\": ...").
#pragma once

#include <string>
#include <vector>

#include "core/apps/cli.h"
#include "core/eval/benchmark.h"
#include "core/eval/draw.h"
#include "core/model/satclip.h"
#include "core/recipe/config.h"

namespace satclip::eval_app {

// One --checkpoint: its name in tables and file names, the resolved weights file and the model.
struct Checkpoint {
  std::string name, path;
  core::SatClip model{nullptr};
  core::ModelConfig config;
};

// The numeric and list options, read and checked before anything is loaded or computed.
struct Options {
  double grid_deg = 1;
  int64_t seeds = 3, epochs = 3000;  // epochs: the notebook probe's (--only probe)
  bool has_bbox = false;
  core::MapView bbox;
  std::vector<std::string> tasks, task_csvs, baselines;
  core::BenchmarkOptions bench;
  int64_t points = 2000;
  std::string stations, countries, stage;
};
Options read_options(const cli::Args& args);

// NAME.png-safe: letters, digits, '.', '-' and '_' kept, anything else '_'.
std::string file_safe(const std::string& name);

// "\"maps\"" entries: the embedding map of each encoder ("map.png", or "map-NAME.png" for several).
std::vector<std::string> map_part(const std::vector<core::Encoder>& encoders, const Options& o, const std::string& out);
std::string probe_part(const core::LocationEmbedder& embed, const Options& o);
std::string geoloc_part(core::SatClip& model, const core::Recipe* recipe, const torch::Device& device,
                        const cli::Args& args);
// "\"results\": [...]" and, through `maps`, the prediction maps' entries; writes report.md.
std::string tasks_part(const std::vector<core::Encoder>& encoders, const Options& o, const std::string& out,
                       std::vector<std::string>& maps);

}  // namespace satclip::eval_app
