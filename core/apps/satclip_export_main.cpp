// satclip-export: a checkpoint's weights as a PyTorch state dict, and what the checkpoint holds.
//
//   satclip-export --checkpoint PATH [--out model.pt] [--info]
#include <cstdio>
#include <string>
#include <vector>

#include "core/apps/cli.h"
#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/train/checkpoint.h"
#include "core/train/checkpoint_dir.h"

namespace {

constexpr size_t kMaxWeightsBytes = size_t(1) << 34;  // 16 GiB: the copy is made in memory

const char* kUsage =
    "usage: satclip-export --checkpoint PATH [--out model.pt] [--info]\n"
    "\n"
    "Checks a satclip-ddp checkpoint (every file against its recorded size and hash), then does\n"
    "one or both of:\n"
    "  --out FILE  write its weights as a PyTorch state dict: torch.load(FILE) and the seed's\n"
    "              SatCLIP.load_state_dict(..., strict=True) accept it (also satclip-embed)\n"
    "  --info      print its step, epoch, position, world size, metrics at save time and recipe\n"
    "\n"
    "  --checkpoint  a checkpoints/step-<N> folder, or a run directory (output.dir) or its\n"
    "                checkpoints/ folder: then the newest complete checkpoint there, skipping\n"
    "                damaged ones (named on stderr)\n"
    "Exit status 0 on success, 2 when the checkpoint is missing, incomplete or damaged.\n";

int body(int argc, char** argv) {
  const satclip::cli::Args args(argc, argv, {"checkpoint", "out"}, {"info"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  using namespace satclip::core;
  SATCLIP_CHECK(args.has("out") || args.has("info"), "nothing to do: give --out FILE, --info or both", "see --help");
  if (args.has("out")) satclip::check_output_folder(args.str("out"));  // before the checkpoint is checked
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
