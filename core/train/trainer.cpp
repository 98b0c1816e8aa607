// The training loop: steps, validation, metrics and state-dict checkpoints.
#include "core/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/stop_signal.h"
#include "core/base/logging.h"
#include "core/model/state_dict.h"
#include "core/recipe/config.h"
#include "core/train/coords_csv.h"
#include "core/train/checkpoint_dir.h"
#include "core/train/step_checks.h"
#include "core/train/step_compute.h"
#include "core/train/trainer_state.h"

namespace satclip::core {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t mix_seed(int64_t seed, int64_t epoch, int64_t step, int64_t micro, int64_t rank) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (int64_t v : {seed, epoch, step, micro, rank}) {
    h ^= static_cast<uint64_t>(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  }
  return h;
}

}  // namespace

Trainer::Trainer(Recipe recipe, const dist::Runtime& runtime, dist::Communicator& comm, TrainOptions options)
    : s_(std::make_unique<State>()) {
  auto& s = *s_;
  s.recipe = std::move(recipe);
  s.runtime = runtime;
  s.comm = &comm;
  s.options = options;
  if (options.debug) {
    SATCLIP_CHECK(comm.size() == 1, cat("--debug runs one process on one device, but this job has ", comm.size(), " ranks"),
                  "run `satclip-ddp RECIPE --debug` without mpirun (or with mpirun -n 1)");
    if (s.recipe.train.max_steps == 0) s.recipe.train.max_steps = kDebugSteps;
  }
  s.plan = plan_batches(s.recipe, comm.size());
  const bool synthetic_pending = s.recipe.data.path == "synthetic" && options.dry_run;
  if (synthetic_pending) {  // a dry run does not write the synthetic sample: sizes from the recipe
    s.val_size = std::llround(double(s.recipe.data.synthetic_count) * s.recipe.data.val_fraction);
    s.train_size = s.recipe.data.synthetic_count - s.val_size;
    SATCLIP_CHECK(s.train_size >= s.plan.global(),
                  cat("the synthetic sample's training split has ", s.train_size, " tiles, fewer than one global batch of ",
                      s.plan.global()),
                  "raise data.synthetic_count or lower the batch size");
  } else {
    s.data = open_train_data(s.recipe, s.plan, &comm, runtime.cpus.share);
    s.train_size = static_cast<int64_t>(s.data.split.train.size());
    s.val_size = static_cast<int64_t>(s.data.split.val.size());
  }
  plan_steps(s);
  check_feature_cache(s);
  build_model(s);
  if (options.dry_run) {
    resume_run(s);  // --resume checked as a run would, with nothing written
    return;
  }
  prepare_run_dir(s);
  init_logging({runtime.rank, runtime.world_size, s.recipe.output.dir, s.recipe.run.log_level});
  resume_run(s);
  setup_step(s);
  open_metrics(s);
  if (const char* dir = std::getenv("SATCLIP_SAMPLE_LOG"); dir && *dir) {  // tests: every sample consumed
    const auto path = cat(dir, "/samples-rank", runtime.rank, ".txt");
    s.sample_log.reset(std::fopen(path.c_str(), "a"));
    SATCLIP_CHECK(s.sample_log != nullptr, cat("SATCLIP_SAMPLE_LOG: cannot open ", path), "");
  }
  if (s.recipe.train.precision == Precision::kBf16 && !runtime.device.is_cuda()) {
    spdlog::warn("train.precision=bf16 autocasts on CUDA only; this run on {} uses fp32", runtime.device.str());
  }
  auto& v = s.val_set;
  v.dataset = s.data.dataset;
  v.indices = s.data.split.val;
  s.transforms = transform_options(s.recipe.data);
  s.transforms.channels_last = wants_channels_last(s.recipe.train, runtime.device);  // the model's layout
  v.transforms = s.transforms;
  v.loader = loader_options(s.recipe.data, s.plan.per_rank, runtime.device.is_cuda(), runtime.cpus.share);
  v.device = runtime.device;
  v.chunk = s.plan.global();
  setup_feature_cache(s);
  if (!s.recipe.train.val_gallery.empty()) {
    const auto coords = read_coords_csv(s.recipe.train.val_gallery);
    SATCLIP_CHECK(!coords.empty(), cat("train.val_gallery = ", s.recipe.train.val_gallery, ": no locations"),
                  "give a CSV with a lat,lon header and one location per line");
    v.gallery_latlon = torch::empty({int64_t(coords.size()), 2}, torch::kDouble);
    double* ll = v.gallery_latlon.data_ptr<double>();
    for (size_t i = 0; i < coords.size(); ++i) ll[2 * i] = coords[i].lat, ll[2 * i + 1] = coords[i].lon;
  }
}

Trainer::~Trainer() = default;

namespace {

struct StepOutcome {
  bool read = true;  // the host read this step's results (else loss and stop are unknown)
  double loss = 0;
  bool skipped = false;
  bool stop = false;  // some rank received a stop signal
};

// The micro-batch's forward, loss and backward: a replay of the CUDA graph where it applies, else
// eagerly; either adds to the gradients of the step's earlier micro-batches. Returns the objective,
// and the squared gradient norm when the graph computed it (a step of one micro-batch).
std::pair<torch::Tensor, torch::Tensor> compute_micro(Trainer::State& s, const StepBatch& batch, int64_t step,
                                                      int64_t micro, PhaseTimer& timer) {
  const StepInputs in{batch.images, batch.features, batch.lat_lon};
  if (s.graph) {
    auto why = s.graph->mismatch(in);
    if (why.empty()) {
      const bool first = !s.graph->captured();
      try {
        auto out = s.graph->run(in, grad_mode(micro, s.plan.grad_accum));
        if (first) spdlog::info("train.cuda_graphs: step {} captured", step);
        timer.mark("graph");
        return out;
      } catch (const Error& e) {
        if (!first) throw;
        // A failed capture leaves the model as it was: train on without the graph.
        spdlog::warn("{}; the steps run eagerly", e.what());
        s.graph.reset();
      }
    } else {
      if (why != s.graph_fallback) spdlog::info("train.cuda_graphs: step {} runs eagerly: {}", step, why);
      s.graph_fallback = std::move(why);
    }
  }
  StepCompute how = s.compute;
  how.timer = &timer;
  if (s.options.debug) {
    how.check = [&](const Embeddings& e) {
      check_finite_rows(e.image, batch.index, "the image embeddings", step);
      check_finite_rows(e.location, batch.index, "the location embeddings", step);
    };
  }
  dist::Communicator& loss_comm = s.recipe.loss.gather ? *s.comm : static_cast<dist::Communicator&>(s.local);
  torch::Tensor objective;
  if (s.reducer && micro + 1 < s.plan.grad_accum) {
    auto no_sync = s.reducer->no_sync();
    objective = forward_backward(s.model, in, loss_comm, how);
  } else {
    objective = forward_backward(s.model, in, loss_comm, how);
  }
  timer.mark("backward+reduce");
  return {objective, {}};
}

// One optimizer step. `read`: the host reads its loss and checks (else they are decided on the
// device, see step_checks.h).
StepOutcome train_step(Trainer::State& s, BatchSource& source, int64_t epoch, int64_t step, bool read,
                       PhaseTimer& timer) {
  const auto& r = s.recipe;
  s.optimizer->zero_grad();
  torch::Tensor loss_sum, sq;  // device scalars
  for (int64_t micro = 0; micro < s.plan.grad_accum; ++micro) {
    StepBatch batch;
    if (s.graph) batch.images = s.graph->static_images();  // the batch lands in the graph's input
    SATCLIP_CHECK(source.next(batch, mix_seed(r.run.seed, epoch, step, micro, s.runtime.rank)),
                  cat("the loader ran out of batches at step ", step), "");
    timer.mark("data");
    if (s.sample_log) {
      std::string line = cat(epoch, " ", step, " ", micro);
      const auto idx = batch.index.to(torch::kCPU);
      for (int64_t i = 0; i < idx.numel(); ++i) line += cat(" ", idx[i].item<int64_t>());
      std::fprintf(s.sample_log.get(), "%s\n", line.c_str());
      std::fflush(s.sample_log.get());
    }
    auto [objective, graph_sq] = compute_micro(s, batch, step, micro, timer);
    source.prefetch();  // the next batch's copy overlaps this micro-batch's compute
    timer.mark("data");
    const auto loss = objective.to(torch::kDouble);
    loss_sum = micro == 0 ? loss : loss_sum + loss;
    sq = graph_sq;
  }
  if (s.reducer) s.reducer->finish();
  // The global gradient norm (for clipping, and NaN/Inf detection) and the loss.
  if (!sq.defined()) sq = grad_sq_norm(s.groups);
  sq = sq.to(loss_sum.device());
  StepOutcome out;
  if (!read) {  // decided on the device: no host wait
    const auto found = s.deferred.record(loss_sum, sq, step, *s.comm);
    timer.mark("backward+reduce");
    apply_update(s.model, *s.optimizer, s.groups, r.optim.clip_norm, sq, s.schedule->factor(step), found);
    timer.mark("optimizer");
    out.read = false;
    return out;
  }
  // The step's one synchronisation with the device, with the record of the steps since the last.
  const auto record = s.deferred.pending(loss_sum.device());
  const auto values = torch::stack({loss_sum, sq});
  const auto host = (record.defined() ? torch::cat({values, record}) : values).to(torch::kCPU);
  const double loss_mean = host[0].item<double>() / double(s.plan.grad_accum);
  const double grad_norm = std::sqrt(host[1].item<double>());
  if (record.defined())
    s.deferred.settle(host[2].item<double>(), host[3].item<double>(), step, r.train.nonfinite == NonFinite::kSkip,
                      *s.optimizer);
  // One collective: the mean loss over ranks, whether any rank saw a non-finite loss or gradient,
  // and whether a rank received a stop signal, so that all ranks stop after the same step.
  auto flags = torch::tensor({loss_mean, std::isfinite(loss_mean) ? 0.0 : 1.0, std::isfinite(grad_norm) ? 0.0 : 1.0,
                              stop_signal() != 0 ? 1.0 : 0.0},
                             torch::kDouble);
  s.comm->all_reduce(flags, dist::ReduceOp::kSum);
  timer.mark("backward+reduce");
  out.loss = flags[0].item<double>() / s.comm->size();
  out.stop = flags[3].item<double>() > 0;
  if (flags[1].item<double>() > 0 || flags[2].item<double>() > 0) {
    const std::string tensor = flags[1].item<double>() > 0 ? "the loss" : "the gradient of " + first_nonfinite_grad(s.model);
    SATCLIP_CHECK(r.train.nonfinite == NonFinite::kSkip && !s.options.debug,
                  cat("step ", step, ": non-finite values in ", tensor),
                  "lower the learning rates or set optim.clip_norm; train.nonfinite=skip skips such steps");
    spdlog::warn("step {}: non-finite values in {}; step skipped (train.nonfinite=skip)", step, tensor);
    s.optimizer->zero_grad();
    out.skipped = true;
    return out;
  }
  apply_update(s.model, *s.optimizer, s.groups, r.optim.clip_norm, sq, s.schedule->factor(step));
  timer.mark("optimizer");
  return out;
}

}  // namespace

namespace {

// Validation + its metrics line, the plateau schedule, and best.pt (rank 0). Sets `new_best`.
ValResult run_validation(Trainer::State& s, int64_t epoch, int64_t step, bool& new_best) {
  const auto t0 = Clock::now();
  ValResult v = validate(s.model, s.recipe.loss, s.val_set, *s.comm);
  const auto& m = v.retrieval;
  const std::string chance = s.val_set.gallery_latlon.defined() ? std::string("external gallery")
                                                                   : fmt::format("chance {:.2f}%", 100.0 / double(std::max<int64_t>(1, m.n)));
  spdlog::info("validation after step {}: loss {:.4f}, top-1 {:.2f}% top-5 {:.2f}% ({}), "
               "within 25/200/750/2500 km {:.1f}/{:.1f}/{:.1f}/{:.1f}%, median {:.0f} km, n {} ({:.1f} s)",
               step, v.loss, 100 * m.top1, 100 * m.top5, chance, 100 * m.within[0],
               100 * m.within[1], 100 * m.within[2], 100 * m.within[3], m.median_km, m.n,
               std::chrono::duration<double>(Clock::now() - t0).count());
  if (s.metrics) {
    s.metrics->write("val", {{"epoch", double(epoch)}, {"step", double(step)}, {"loss", v.loss}, {"top1", m.top1},
                             {"top5", m.top5}, {"acc_25km", m.within[0]}, {"acc_200km", m.within[1]},
                             {"acc_750km", m.within[2]}, {"acc_2500km", m.within[3]}, {"median_km", m.median_km},
                             {"n", double(m.n)}});
  }
  if (s.schedule->on_validation(v.loss)) {
    spdlog::info("validation loss did not improve: learning rates x {} (plateau)", s.recipe.optim.plateau_factor);
  }
  new_best = !s.has_best || v.loss < s.best_val;
  if (new_best) {
    s.best_val = v.loss;
    s.has_best = true;
    save_best_copy(s);
  }
  return v;
}

}  // namespace

FitResult Trainer::fit() {
  auto& s = *s_;
  const auto& r = s.recipe;
  SATCLIP_CHECK(!s.options.dry_run, "fit() after a dry-run set-up", "");
  install_stop_handlers();
  spdlog::info("recipe {}\n{}", r.source.empty() ? "(built in)" : r.source, recipe_table(r));
  const auto& lo = s.val_set.loader;
  spdlog::info("data {}: {} train, {} validation tiles, {} loader threads per rank, {} batches ahead", s.data.shards,
               s.train_size, s.val_size, lo.workers, lo.prefetch);
  if (lo.prefetch < lo.workers) {
    spdlog::warn("data.prefetch {} < data.workers {}: at most {} threads build batches at once; set data.prefetch "
                 "to auto (workers + 2) or at least {}", lo.prefetch, lo.workers, lo.prefetch, lo.workers);
  }
  const auto bound = dist::cpu_binding_warning(s.runtime.cpus, s.runtime.local_size);
  if (!bound.empty()) spdlog::warn("{}", bound);
  spdlog::info("global batch {} = {} per rank x {} ranks x {} accumulation; {} steps per epoch, {} steps",
               s.plan.per_step(), s.plan.per_rank, s.plan.world, s.plan.grad_accum, s.steps_per_epoch, s.total_steps);
  spdlog::info("{}, communicator {}", dist::describe(s.runtime), s.comm->backend());
  if (s.runtime.is_main() && s.runtime.world_size > 1) spdlog::info("hosts: {}", dist::describe_hosts(s.runtime));
  for (const auto& line : s.weight_reports) spdlog::info("weights: {}", line);

  Progress progress(s.runtime.is_main());
  PhaseTimer timer;
  FitResult result;
  int64_t step = s.start.step;
  result.steps = step;
  const auto start = Clock::now();
  auto interval_start = start;
  int64_t interval_steps = 0;
  std::unique_ptr<BatchSource> source;
  bool queued = false;  // this epoch's tiles were appended to `source` during the last epoch
  for (int64_t epoch = s.start.epoch; epoch < r.train.epochs && step < s.total_steps; ++epoch) {
    const int64_t cursor0 = epoch == s.start.epoch ? s.start.cursor : 0;
    const int64_t epoch_steps = steps_from(s, cursor0);
    if (!queued) source = epoch_batches(s, epoch, epoch_indices(s, epoch, cursor0));
    // The next epoch's tiles queue behind this epoch's, so the loader reads them while this one
    // ends: no pause at the boundary. Every epoch's list holds exactly its steps' micro-batches.
    queued = epoch + 1 < r.train.epochs && step + epoch_steps < s.total_steps &&
             source->append(epoch_indices(s, epoch + 1, 0));
    timer.start();
    for (int64_t k = 0; k < epoch_steps && step < s.total_steps; ++k) {
      ++step;
      const bool epoch_end = k + 1 == epoch_steps;
      const StepEvents events = step_events(s, epoch, step, epoch_end);
      const bool read = !s.defer_reads || events.any();  // train.host_sync: log reads only here
      const auto out = train_step(s, *source, epoch, step, read, timer);
      timer.count_step();
      ++interval_steps;
      if (out.read) result.last_loss = out.loss;
      result.steps = step;
      const double now_s = std::chrono::duration<double>(Clock::now() - start).count();
      const double dt = std::chrono::duration<double>(Clock::now() - interval_start).count();
      const double img_s = dt > 0 ? double(interval_steps * s.plan.per_step()) / dt : 0.0;
      const double lr = s.groups.back().lr * s.schedule->factor(step);
      progress.update({epoch + 1, step, s.total_steps, result.last_loss, lr, img_s, now_s});
      if (events.log) {
        if (s.metrics) {
          s.metrics->write("train", {{"epoch", double(epoch)}, {"step", double(step)}, {"loss", out.loss},
                                     {"lr", lr}, {"img_per_s", img_s}, {"time_s", now_s}});
        }
        if (!progress.interactive() || s.options.debug) {
          const double done = double(step - s.start.step);
          spdlog::info("epoch {} step {}/{}: loss {:.5f}, lr {:.3e}, {:.1f} img/s, {} elapsed, ETA {}", epoch + 1, step,
                       s.total_steps, out.loss, lr, img_s, format_duration(now_s),
                       format_duration(now_s / done * double(s.total_steps - step)));
        }
        progress.finish();  // on a TTY: keep the bar's last state, then the breakdown below it
        std::string phases = timer.summary();
        phases += source_summary(source->take_stats(), s.runtime.device);
        spdlog::info("time per step: {}", phases);
        timer.reset();
        interval_start = Clock::now();
        interval_steps = 0;
      }
      bool new_best = false;
      if (events.validate) {
        progress.finish();
        result.last_val = run_validation(s, epoch, step, new_best);
        result.validated = true;
      }
      // Checkpoint: when scheduled, at a new best validation loss, and when a rank received a stop
      // signal. At an epoch end the position is the next epoch's start.
      if (events.checkpoint || new_best || out.stop) {
        progress.finish();
        save_checkpoint(s, step, epoch_end ? epoch + 1 : epoch,
                        epoch_end ? 0 : cursor0 + (k + 1) * s.plan.per_step(), new_best, checkpoint_metrics(result, lr));
        result.checkpoint = s.recipe.output.dir + "/checkpoints/" + checkpoint_name(step);
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
    progress.finish();
    if (result.stop_signal != 0) break;
  }
  if (s.runtime.is_main()) {
    // The last checkpoint must be on disk before the run reports success (or 75).
    const std::string failed = s.writer ? s.writer->wait() : "";
    SATCLIP_CHECK(failed.empty(),
                  cat(result.stop_signal ? "stopping on a signal, but " : "training finished, but ",
                      "the last checkpoint was not written: ", failed),
                  "free space or fix output.dir; the previous checkpoint is still usable with --resume auto");
    save_state_dict(*s.model, s.recipe.output.dir + "/checkpoints/last.pt");
  }
  if (result.stop_signal != 0) {
    s.comm->barrier();  // every rank exits with the same status once the checkpoint is on disk
    spdlog::warn("checkpoint {} written; exit status {} (resume with --resume auto)", result.checkpoint,
                 kExitCheckpointed);
    flush_logs();
    return result;
  }
  spdlog::info("done: {} steps in {}; run directory {}", step,
               format_duration(std::chrono::duration<double>(Clock::now() - start).count()), r.output.dir);
  flush_logs();
  return result;
}

}  // namespace satclip::core
