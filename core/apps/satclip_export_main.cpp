// satclip-export: a checkpoint's weights as a PyTorch state dict or a SatCLIP Lightning
// checkpoint, and what the checkpoint holds.
//
//   satclip-export --checkpoint PATH [--out FILE] [--format seed|satclip] [--info]
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/apps/cli.h"
#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/infer/embed.h"
#include "core/model/model_file.h"
#include "core/recipe/config.h"
#include "core/train/checkpoint/checkpoint.h"
#include "core/train/checkpoint/checkpoint_dir.h"

namespace {

constexpr size_t kMaxWeightsBytes = size_t(1) << 34;  // 16 GiB: the copy is made in memory

const char* kUsage =
    "usage: satclip-export --checkpoint PATH [--out FILE] [--format seed|satclip] [--info]\n"
    "\n"
    "Checks a satclip-ddp checkpoint (every file against its recorded size and hash), then does\n"
    "one or both of:\n"
    "  --out FILE  write its weights in the --format:\n"
    "                seed     (default) a PyTorch state dict in our names: torch.load(FILE) and the\n"
    "                         seed's SatCLIP.load_state_dict(..., strict=True) accept it (also\n"
    "                         satclip-embed and model.weights)\n"
    "                satclip  a SatCLIP Lightning checkpoint, as microsoft/satclip released its\n"
    "                         models: its load_lightweight.get_satclip_loc_encoder and\n"
    "                         load.get_satclip load it (sh_siren location encoder, ResNet image\n"
    "                         encoder with 13 bands, linear or satclip heads; a location Linear\n"
    "                         head is folded into the SIREN's last layer)\n"
    "  --info      print its step, epoch, position, world size, metrics at save time and recipe\n"
    "\n"
    "  --checkpoint  a checkpoints/step-<N> folder, or a run directory (output.dir) or its\n"
    "                checkpoints/ folder: then the newest complete checkpoint there, skipping\n"
    "                damaged ones (named on stderr); with --format satclip also a weights file\n"
    "                satclip-embed reads (model.pt, last.pt, best.pt, a state dict)\n"
    "Exit status 0 on success, 2 when the checkpoint is missing, incomplete or damaged, or the\n"
    "model is one the format cannot hold.\n"
    "\n"
    "Example (a run's newest checkpoint as a file SatCLIP's own code loads):\n"
    "  satclip-export --checkpoint runs/mine --format satclip --out mine.ckpt\n";

// --format satclip: the model rebuilt (from the checkpoint's recipe, or inferred from a weights
// file), then written as SatCLIP's Lightning checkpoint.
void export_satclip(const std::string& given, const std::string& out) {
  using namespace satclip::core;
  std::unique_ptr<Recipe> recipe;
  std::string weights = given;
  if (std::filesystem::is_directory(given)) {
    std::vector<std::string> skipped;
    const std::string dir = resolve_checkpoint_path(given, &skipped);
    for (const auto& why : skipped) std::fprintf(stderr, "warning: skipping a damaged checkpoint: %s\n", why.c_str());
    const Checkpoint c = read_checkpoint(dir, CheckpointParts::kText);
    recipe = std::make_unique<Recipe>(load_recipe_text(c.recipe_yaml, dir + "/recipe.yaml"));
    weights = dir + "/model.pt";
  }
  ModelConfig config;
  auto model = load_for_inference(weights, recipe.get(), torch::kCPU, &config);
  const PyValue file = lightning_checkpoint(model, config);  // refuses what the format cannot hold
  satclip::replace_file(out, [&file](const std::string& tmp) { write_torch_file(tmp, file); });
  std::fprintf(stderr, "wrote %s (SatCLIP Lightning checkpoint of %s)\n", out.c_str(), weights.c_str());
}

int body(int argc, char** argv) {
  const satclip::cli::Args args(argc, argv, {"checkpoint", "out", "format"}, {"info"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  using namespace satclip::core;
  SATCLIP_CHECK(args.has("out") || args.has("info"), "nothing to do: give --out FILE, --info or both", "see --help");
  const std::string format = args.str("format", "seed");
  SATCLIP_CHECK(format == "seed" || format == "satclip", satclip::cat("--format ", format, " is not one of seed, satclip"),
                "see --help");
  SATCLIP_CHECK(format == "seed" || !args.has("info"), "--format satclip writes a file; --info reads a checkpoint folder",
                "run them as two commands");
  if (args.has("out")) satclip::check_output_folder(args.str("out"));  // before the checkpoint is checked
  if (format == "satclip") {
    SATCLIP_CHECK(args.has("out"), "--format satclip needs --out FILE", "see --help");
    export_satclip(args.required("checkpoint"), args.str("out"));
    return 0;
  }
  std::vector<std::string> skipped;
  const std::string dir = resolve_checkpoint_path(args.required("checkpoint"), &skipped);
  for (const auto& why : skipped) std::fprintf(stderr, "warning: skipping a damaged checkpoint: %s\n", why.c_str());
  const Checkpoint c = read_checkpoint(dir, CheckpointParts::kText);
  if (args.has("out")) {
    // Read through the descriptor it checks (the file was verified against its hash just now),
    // written whole or not at all.
    const std::string weights = satclip::read_regular_file(
        dir + "/model.pt", kMaxWeightsBytes, "a checkpoint's weights", "the checkpoint changed while read; run again");
    satclip::write_file_atomically(args.str("out"), weights);
    std::fprintf(stderr, "wrote %s (the weights of %s)\n", args.str("out").c_str(), dir.c_str());
  }
  if (args.has("info")) {
    const auto& m = c.meta;
    std::printf("checkpoint: %s\nstep: %lld\nepoch: %lld\nposition: sample %lld of that epoch\n", dir.c_str(),
                (long long)m.step, (long long)m.epoch + 1, (long long)m.cursor);
    std::printf("world size: %lld\nglobal batch: %lld\ntotal steps: %lld\nsaved at: %s\nrecipe hash: %s\n",
                (long long)m.world_size, (long long)m.global_batch, (long long)m.total_steps, m.saved_at.c_str(),
                m.recipe_hash.c_str());
    if (m.has_best_val) std::printf("best validation loss so far: %.6g%s\n", m.best_val, m.is_best ? " (this one)" : "");
    std::printf("metrics at save time:\n");
    for (const auto& [k, v] : m.metrics) std::printf("  %s: %.6g\n", k.c_str(), v);
    std::printf("recipe:\n%s", c.recipe_yaml.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-export", body, argc, argv); }
