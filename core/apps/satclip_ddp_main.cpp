// satclip-ddp: data-parallel SatCLIP training.
//
//   satclip-ddp [RECIPE.yaml] [--set key.path=value]... [--resume auto|PATH [--resume-force]]
//               [--debug] [--dry-run] [--help] [--version]
//
// Runs under `mpirun -n N`, `srun --mpi=pmix`, or started directly (world size 1). Without a
// recipe it trains the embedded quickstart recipe (recipes/quickstart.yaml).
#include <cstdio>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "core/apps/cli.h"
#include "core/base/error.h"
#include "core/base/logging.h"
#include "core/base/stop_signal.h"
#include "core/recipe/config.h"
#include "core/recipe/embedded.h"
#include "core/train/trainer.h"
#include "distributed/abort.h"
#include "distributed/communicator.h"
#include "distributed/runtime.h"

namespace {

const char* kUsage =
    "usage: satclip-ddp [RECIPE.yaml] [--set key.path=value]... [--resume auto|PATH] [--debug] [--dry-run]\n"
    "       mpirun -n N satclip-ddp RECIPE.yaml ...\n"
    "\n"
    "Trains a SatCLIP-style model (image encoder + location encoder, contrastive loss) with data\n"
    "parallelism across the MPI ranks. Without RECIPE.yaml it runs the embedded quickstart recipe\n"
    "(synthetic S2-100k sample, a few minutes on a laptop CPU).\n"
    "\n"
    "  --set key.path=value  override a recipe key (repeatable; `satclip-recipe keys` lists them)\n"
    "  --dry-run             print the resolved recipe, data and split sizes, batches, parameter\n"
    "                        counts per optimizer group and the rank/device layout, then exit;\n"
    "                        with --resume, also the checkpoint and step it would continue from\n"
    "                        (read and checked against the recipe; nothing is written)\n"
    "  --resume auto|PATH    continue from a checkpoint: auto = the newest complete one in\n"
    "                        output.dir/checkpoints (a fresh start when there is none); PATH = a\n"
    "                        checkpoints/step-<N> folder or a run directory (its newest checkpoint)\n"
    "  --resume-force        resume even when the checkpoint's model/data recipe keys differ\n"
    "  --debug               one process on one device, train.max_steps 20 unless set, NaN/Inf\n"
    "                        checks on loss, embeddings and gradients, timings of every step\n"
    "  --version             print the version and exit\n"
    "\n"
    "Outputs in output.dir: config.yaml, metrics.jsonl, log-rank<N>.txt, checkpoints/step-<N>/\n"
    "(resumable: model, optimizer, RNG, position; every checkpoint.every_steps steps and\n"
    "checkpoint.every_epochs epochs, after the last step, at a new best validation loss),\n"
    "checkpoints/latest, checkpoints/last.pt and best.pt (PyTorch state dicts).\n"
    "\n"
    "CPUs: each rank's loader sizes itself (data.workers: auto) from the CPUs the launcher lets it use;\n"
    "Open MPI's mpirun binds each rank to one core when it starts 2 or fewer: on a GPU node use\n"
    "`mpirun --bind-to none -n N` or `mpirun --map-by slot:PE=<cores per rank> -n N`.\n"
    "\n"
    "SIGTERM or SIGUSR1 (to any rank), or a first Ctrl-C: all ranks stop after the current step and\n"
    "write a checkpoint (during data.verify or the feature-cache build: at once, with nothing to\n"
    "checkpoint); a second Ctrl-C aborts at once.\n"
    "Exit status: 0 finished; 75 stopped by a signal, after writing a checkpoint or before the first\n"
    "step (requeue with --resume auto); 1 or 2 an error (the message names the rank, key or file).\n"
    "\n"
    "Example (8 GPUs on one node, the seed's recipe with its global batch):\n"
    "  mpirun --bind-to none -n 8 satclip-ddp recipes/toysatclip.yaml --set data.global_batch_size=1280\n";

int body(int argc, char** argv) {
  auto overrides = satclip::cli::take_overrides(argc, argv);
  const satclip::cli::Args args(argc, argv, {"resume"}, {"debug", "dry-run", "resume-force"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  SATCLIP_CHECK(args.positional().size() <= 1, "more than one recipe given", "usage: satclip-ddp [RECIPE.yaml] [options]");
  satclip::dist::MpiSession mpi(&argc, &argv);
  satclip::install_stop_handlers();  // during set-up: stops after the first step (verify, cache build: at once)
  return satclip::dist::run_or_abort([&] {
    const auto process = satclip::dist::query_mpi_process();
    satclip::init_logging({process.rank, process.world_size, "", "info"});
    const auto recipe = args.positional().empty()
                            ? satclip::core::load_recipe_text(satclip::core::kEmbeddedQuickstart,
                                                              "embedded quickstart recipe", overrides)
                            : satclip::core::load_recipe(args.positional()[0], overrides);
    satclip::init_logging({process.rank, process.world_size, "", recipe.run.log_level});
    const auto runtime = satclip::dist::make_runtime(process, recipe.run.device);
    satclip::dist::CommunicatorOptions co;
    co.backend = recipe.distributed.backend;
    co.timeout_s = recipe.distributed.timeout_s;
    const auto comm = satclip::dist::make_communicator(co, runtime);
    satclip::core::TrainOptions options;
    options.debug = args.has("debug");
    options.dry_run = args.has("dry-run");
    options.resume = args.str("resume");
    options.resume_force = args.has("resume-force");
    SATCLIP_CHECK(!options.resume_force || !options.resume.empty(), "--resume-force without --resume",
                  "add --resume auto or --resume PATH");
    std::unique_ptr<satclip::core::Trainer> trainer;
    try {
      trainer = std::make_unique<satclip::core::Trainer>(recipe, runtime, *comm, options);
    } catch (const satclip::StoppedBeforeTraining& stopped) {  // every rank, together
      spdlog::warn("{}: stopped before the first step, nothing to checkpoint; exit status {} (start again, or "
                   "requeue, with --resume auto)", stopped.what(), satclip::kExitCheckpointed);
      satclip::flush_logs();
      return satclip::kExitCheckpointed;
    }
    if (options.dry_run) {
      const std::string report = trainer->describe();
      if (runtime.is_main()) std::fputs(report.c_str(), stdout);
      return 0;
    }
    const auto result = trainer->fit();
    if (result.stop_signal != 0) return satclip::kExitCheckpointed;
    if (runtime.is_main() && result.validated) {
      const auto& m = result.last_val.retrieval;
      std::printf("final: loss %.4f, validation loss %.4f, top-1 %.2f%% (chance %.2f%%), top-5 %.2f%%, median %.0f km\n",
                  result.last_loss, result.last_val.loss, 100 * m.top1, m.n ? 100.0 / double(m.n) : 0.0, 100 * m.top5,
                  m.median_km);
    }
    return 0;
  });
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("satclip-ddp", body, argc, argv); }
