// The trainer: its set-up, in order, and the training loop (llm.c's train_gpt2 training section is
// the model: the loop in one place, each step's pieces named).
#include "core/train/trainer.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "core/base/duration.h"
#include "core/base/error.h"
#include "core/base/logging.h"
#include "core/base/stop_signal.h"
#include "core/model/state_dict.h"
#include "core/recipe/config.h"
#include "core/train/trainer_parts.h"

namespace satclip::core {

Trainer::Trainer(Recipe recipe, const dist::Runtime& runtime, dist::Communicator& comm, TrainOptions options)
    : s_(std::make_unique<State>()) {
  auto& s = *s_;
  if (options.debug) {
    SATCLIP_CHECK(comm.size() == 1, cat("--debug runs one process on one device, but this job has ", comm.size(), " ranks"),
                  "run `satclip-ddp RECIPE --debug` without mpirun (or with mpirun -n 1)");
    if (recipe.train.max_steps == 0) recipe.train.max_steps = kDebugSteps;
  }
  s.recipe = std::move(recipe);
  s.options = options;
  s.runtime = runtime;
  s.comm = &comm;
  s.dir = RunDir(s.recipe.output.dir);
  // 1. The data and the plan over it; 2. the model and optimizer.
  open_data(s);
  check_feature_cache_recipe(s.recipe);
  s.learner = build_learner(s.recipe, runtime, comm, options.dry_run);
  if (!options.dry_run) {
    // 3. The run directory and the logs.
    prepare_run_dir(s);
    init_logging({runtime.rank, runtime.world_size, s.recipe.output.dir, s.recipe.run.log_level});
  }
  // 4. Where training starts (--resume: a checkpoint's position and state; a dry run only checks),
  // and so the plan's total, and the schedule over it.
  const Resumed resumed = resume_run(s);
  s.plan = s.plan.resumed_at(resumed.at);
  if (!resumed.from.empty()) {
    s.resume_note = cat(resumed.from, ": step ", resumed.at.step, ", epoch ", resumed.at.epoch + 1, ", sample ",
                        resumed.at.cursor, " of that epoch (", resumed.written, "); ",
                        s.plan.total_steps() - s.plan.start().step, " steps to go");
  }
  if (options.dry_run) return;
  if (!resumed.from.empty()) spdlog::info("resuming from {}", s.resume_note);
  s.schedule = std::make_unique<LrSchedule>(s.recipe.optim, s.plan.total_steps());
  if (!resumed.from.empty()) s.schedule->restore(resumed.schedule);
  s.best = resumed.best;
  // 5. The step, the reporting, the input pipeline (the feature cache is built here).
  s.stepper = std::make_unique<StepRunner>(s.recipe, s.runtime, comm, s.learner, s.plan.batch(), options.debug);
  s.recorder = std::make_unique<RunRecorder>(s.recipe, s.dir, s.runtime, s.plan.start().step, s.plan.total_steps(),
                                             s.plan.batch().per_step(), options.debug);
  s.pipeline = build_pipeline(s);
}

Trainer::~Trainer() = default;

namespace {

// Validation, the plateau schedule, and best.pt (rank 0). Returns the result; `new_best` set.
ValResult run_validation(Trainer::State& s, int64_t epoch, int64_t step, bool& new_best) {
  const auto t0 = std::chrono::steady_clock::now();
  ValResult v = validate(s.learner.model, s.recipe.loss, s.pipeline.val_set, *s.comm);
  s.recorder->validation(v, s.pipeline.val_set.gallery_latlon.defined(), epoch, step,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (s.schedule->on_validation(v.loss)) {
    spdlog::info("validation loss did not improve: learning rates x {} (plateau)", s.recipe.optim.plateau_factor);
  }
  new_best = s.best.improves(v.loss);
  if (new_best) {
    s.best = {true, v.loss};
    save_best_copy(s);
  }
  return v;
}

// The run's start-up lines: describe()'s recipe, data and batch lines (run_summary), warnings,
// the rank's placement and the weights loaded.
void log_run_start(const Trainer::State& s) {
  const auto& r = s.recipe;
  const auto& lo = s.pipeline.loader;
  spdlog::info("recipe {}\n{}", r.source.empty() ? "(built in)" : r.source, recipe_table(r));
  for (const auto& line : run_summary(s)) spdlog::info("{}", line);
  if (lo.prefetch < lo.workers) {
    spdlog::warn("data.prefetch {} < data.workers {}: at most {} threads build batches at once; set data.prefetch "
                 "to auto (workers + 2) or at least {}", lo.prefetch, lo.workers, lo.prefetch, lo.workers);
  }
  const auto bound = dist::cpu_binding_warning(s.runtime.cpus, s.runtime.local_size);
  if (!bound.empty()) spdlog::warn("{}", bound);
  spdlog::info("{}, communicator {}", dist::describe(s.runtime), s.comm->backend());
  if (s.runtime.is_main() && s.runtime.world_size > 1) spdlog::info("hosts: {}", dist::describe_hosts(s.runtime));
  for (const auto& line : s.learner.weight_reports) spdlog::info("weights: {}", line);
}

// The run's end: rank 0 waits for the last checkpoint (it must be on disk before the run
// reports success, or 75 after a stop signal) and writes last.pt; after a stop signal every rank
// leaves together.
void finish_run(Trainer::State& s, const FitResult& result) {
  if (s.runtime.is_main()) {
    const std::string failed = s.writer ? s.writer->wait() : "";
    SATCLIP_CHECK(failed.empty(),
                  cat(result.stop_signal ? "stopping on a signal, but " : "training finished, but ",
                      "the last checkpoint was not written: ", failed),
                  "free space or fix output.dir; the previous checkpoint is still usable with --resume auto");
    save_state_dict(*s.learner.model, s.dir.last_weights());
  }
  if (result.stop_signal != 0) {
    s.comm->barrier();  // every rank exits with the same status once the checkpoint is on disk
    spdlog::warn("checkpoint {} written; exit status {} (resume with --resume auto)", result.checkpoint,
                 kExitCheckpointed);
  } else {
    spdlog::info("done: {} steps in {}; run directory {}", result.steps, format_duration(s.recorder->elapsed_s()),
                 s.recipe.output.dir);
  }
}

}  // namespace

FitResult Trainer::fit() {
  auto& s = *s_;
  SATCLIP_CHECK(!s.options.dry_run, "fit() after a dry-run set-up", "");
  install_stop_handlers();
  log_run_start(s);
  RunRecorder& rec = *s.recorder;
  PhaseTimer& timer = rec.timer();
  FitResult result;
  result.steps = s.plan.start().step;
  const auto epochs = s.plan.epochs();
  std::unique_ptr<BatchSource> source;
  bool queued = false;  // this epoch's samples were appended to `source` during the last epoch
  rec.begin();
  for (size_t i = 0; i < epochs.size() && result.stop_signal == 0; ++i) {
    const EpochPlan& e = epochs[i];
    if (!queued) source = epoch_batches(s, e);
    // The next epoch's samples queue behind this epoch's, so the loader reads them while this one
    // ends: no pause at the boundary. Every epoch's list holds exactly its steps' micro-batches.
    queued = i + 1 < epochs.size() && source->append(epoch_indices(s, epochs[i + 1]));
    timer.start();
    for (int64_t step = e.first_step + 1; step <= e.first_step + e.steps; ++step) {
      // 1. The step: its events are known before it, so train.host_sync: log reads only there.
      const StepEvents events = s.plan.events(e, step);
      const bool read = !s.stepper->defers_reads() || events.any();
      const double lr_factor = s.schedule->factor(step);
      const StepOutcome out = s.stepper->run(*source, e.epoch, step, read, lr_factor, timer);
      result.steps = step;
      if (out.read) result.last_loss = out.loss;
      // 2. Its report.
      const double lr = s.learner.reported_lr() * lr_factor;
      rec.step(e.epoch, step, out.read, out.loss, lr, events.log, *source);
      // 3. Validation, then a checkpoint when scheduled, at a new best validation loss, and when a
      // rank received a stop signal.
      bool new_best = false;
      if (events.validate) {
        result.last_val = run_validation(s, e.epoch, step, new_best);
        result.validated = true;
      }
      if (events.checkpoint || new_best || out.stop) {
        rec.pause();
        save_checkpoint(s, s.plan.after(e, step), new_best, checkpoint_metrics(result, lr));
        result.checkpoint = s.dir.checkpoint(step);
      }
      if (out.stop) {
        result.stop_signal = stop_signal() != 0 ? stop_signal() : -1;
        if (stop_signal() != 0) {
          spdlog::warn("{} received: stopping after step {}", signal_name(stop_signal()), step);
        } else {
          spdlog::warn("another rank received a stop signal: stopping after step {}", step);
        }
        break;
      }
      timer.start();
    }
    rec.pause();
  }
  finish_run(s, result);
  flush_logs();
  return result;
}

}  // namespace satclip::core
