// satclip-embed: location or image embeddings from a trained model, for downstream use.
//
//   satclip-embed --checkpoint PATH (--coords FILE.csv | --shards DIR) --out FILE.{csv,h5}
//                 [--stage projection|encoder] [--recipe R] [--device cpu|cuda|auto]
#include <cstdio>
#include <fstream>
#include <string>

#include "core/apps/cli.h"
#include "core/apps/embed_output.h"
#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/infer/coords_csv.h"
#include "core/infer/data_options.h"
#include "core/infer/embed.h"
#include "core/infer/tile_encoding.h"
#include "core/recipe/config.h"
#include "core/train/checkpoint/checkpoint_dir.h"
#include "core/train/data/data_verify.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "datasets/transforms.h"
#include "distributed/runtime.h"

namespace {

const char* kUsage =
    "usage: satclip-embed --checkpoint PATH (--coords FILE.csv | --shards DIR) --out FILE.{csv,h5}\n"
    "                     [--stage projection|encoder] [--recipe RECIPE.yaml]\n"
    "                     [--device auto|cpu|cuda|cuda:N] [--verify]\n"
    "\n"
    "Writes embeddings in input order: for --coords (a CSV with lat and lon columns, any order,\n"
    "other columns ignored) the location embeddings; for --shards (a folder packed by satclip-pack)\n"
    "the image embeddings of every tile. Output: CSV lat,lon,e0..e{D-1}, or HDF5 /lat, /lon,\n"
    "/embeddings [N, D] float32.\n"
    "\n"
    "  --checkpoint  a satclip-ddp checkpoint (a checkpoints/step-<N> folder, a run directory for its\n"
    "                newest checkpoint, checkpoints/last.pt or best.pt), any state dict in the\n"
    "                seed's format (torch.save of SatCLIP.state_dict()): the architecture is inferred\n"
    "                from its tensor names and shapes; or a SatCLIP Lightning checkpoint\n"
    "                (microsoft/satclip's released satclip-*.ckpt): the architecture is its\n"
    "                hyper_parameters'\n"
    "  --stage       projection (default: the embedding the contrastive loss aligns) or encoder (the\n"
    "                encoder's output before the projection head)\n"
    "  --recipe      the recipe the model was trained with: its model section replaces the inference\n"
    "                (not for a SatCLIP checkpoint), its data section gives the image transforms for\n"
    "                --shards (data.image_size: 224 for a ViT16 model)\n"
    "  --verify      first check --shards with `satclip-pack --verify` (every tile read back in\n"
    "                limited child processes; a directory from elsewhere); also when the recipe sets\n"
    "                data.verify: true\n"
    "\n"
    "Example (the location embeddings of a list of places, from a run directory):\n"
    "  satclip-embed --checkpoint runs/quickstart --coords places.csv --stage encoder --out places.h5\n";

int body(int argc, char** argv) {
  const satclip::cli::Args args(argc, argv, {"checkpoint", "coords", "shards", "out", "stage", "recipe", "device"},
                                {"verify"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  using namespace satclip::core;
  const std::string given = args.required("checkpoint");
  const std::string out = args.required("out");
  SATCLIP_CHECK(!args.has("coords") || !satclip::same_file(args.str("coords"), out),
                satclip::cat("--out ", out, " is the --coords file: the embeddings (lat, lon, e0...) would "
                             "replace it and its other columns"),
                "write the embeddings to another file, e.g. --out places-embeddings.csv");
  SATCLIP_CHECK(args.has("coords") != args.has("shards"), "give exactly one of --coords and --shards", "see --help");
  const auto stage = args.choice("stage", satclip::EmbedStage::kProjection);
  const auto format = satclip::cli::embed_format_of(out);
  const torch::Device device = satclip::dist::this_process_device(args.str("device", "auto"));
  satclip::check_output_folder(out);  // before the checks and the work, not after
  std::unique_ptr<Recipe> recipe;
  if (args.has("recipe")) recipe = std::make_unique<Recipe>(load_recipe(args.str("recipe")));
  if (args.has("shards")) {
    verify_shards_before_reading(args.str("shards"), args.has("verify"), recipe.get(), "satclip-embed");
  }
  const std::string checkpoint = checkpoint_weights_path(given);  // the options first, then the files
  auto model = load_for_inference(checkpoint, recipe.get(), device);

  torch::Tensor lat_lon, embeddings;
  if (args.has("coords")) {
    const auto coords = read_coords_csv(args.str("coords"));
    lat_lon = torch::empty({int64_t(coords.size()), 2}, torch::kDouble);
    auto* p = lat_lon.data_ptr<double>();
    for (size_t i = 0; i < coords.size(); ++i) p[2 * i] = coords[i].lat, p[2 * i + 1] = coords[i].lon;
    embeddings = embed_locations(model, lat_lon, stage, device);
  } else {
    const auto dataset = satclip::data::ShardedDataset::open(args.str("shards"));
    std::vector<int64_t> all(dataset->size());
    for (int64_t i = 0; i < dataset->size(); ++i) all[i] = i;
    const DataConfig data = recipe ? recipe->data : DataConfig{};
    // The feature cache's encoding pass (eval transform), then the projection head when asked.
    TileEncoding enc;
    enc.indices = all;
    enc.dataset = dataset;
    enc.transforms = transform_options(data);
    enc.loader = loader_options(data, enc.chunk, device.is_cuda());
    enc.device = device;
    const auto features = encode_tiles(model, enc, /*rank=*/0, /*world=*/1);
    std::vector<torch::Tensor> parts;
    torch::NoGradGuard no_grad;
    for (int64_t s = 0; s < features.eval.size(0); s += enc.chunk) {
      const auto f = features.eval.narrow(0, s, std::min(enc.chunk, features.eval.size(0) - s)).to(device);
      const auto e = stage == satclip::EmbedStage::kProjection ? model->project_image_features(f) : f;
      parts.push_back(e.to(torch::kCPU, torch::kFloat));
    }
    lat_lon = torch::empty({dataset->size(), 2}, torch::kDouble);
    double* ll = lat_lon.data_ptr<double>();
    for (int64_t i = 0; i < dataset->size(); ++i) ll[2 * i] = dataset->lat(i), ll[2 * i + 1] = dataset->lon(i);
    embeddings = parts.empty() ? torch::empty({0, 0}) : torch::cat(parts);
  }
  satclip::cli::write_embeddings(out, format, lat_lon, embeddings);
  std::printf("%s: %lld x %lld embeddings (%s stage)\n", out.c_str(), (long long)embeddings.size(0),
              (long long)embeddings.size(1), satclip::option_string(stage).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-embed", body, argc, argv); }
