// Trainer set-up: weights check, model, optimizer, run directory, step plan, and describe().
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <ATen/Context.h>
#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/model/pretrained.h"
#include "core/recipe/config.h"
#include "core/train/coords_csv.h"
#include "core/train/step_compute.h"
#include "core/train/tensorboard.h"
#include "core/train/trainer_state.h"
#include "distributed/param_sync.h"

namespace satclip::core {

void check_weight_files(const ModelConfig& m) {
  const struct {
    const char* key;
    const std::string& path;
    const char* where;
  } files[] = {
      {"model.weights", m.weights,
       "a whole-model state dict, e.g. a checkpoints/last.pt of satclip-ddp or the seed's satclip.pt"},
      {"model.image_weights", m.image_weights,
       "torchgeo's ResNet18_Weights.SENTINEL2_ALL_MOCO file resnet18_sentinel2_all_moco-59bfdff9.pth "
       "(python -c \"from torchgeo.models import ResNet18_Weights as W; import torch; "
       "print(W.SENTINEL2_ALL_MOCO.url)\" prints its address)"},
      {"model.location_weights", m.location_weights,
       "GeoCLIP's location_encoder_weights.pth, shipped in the geoclip pip package "
       "(pip install geoclip; it lies in site-packages/geoclip/model/weights/)"},
  };
  for (const auto& f : files) {
    if (f.path.empty()) continue;
    SATCLIP_CHECK(std::filesystem::is_regular_file(f.path),
                  cat(f.key, " = ", f.path, ": no such file"),
                  cat("get ", f.where, ", or set ", f.key, "= (empty) to start from random weights"));
  }
}

void build_model(Trainer::State& s) {
  check_weight_files(s.recipe.model);
  torch::manual_seed(static_cast<uint64_t>(s.recipe.run.seed));
  s.model = SatClip(s.recipe.model, s.recipe.loss);
  s.weight_reports = load_pretrained(s.model, s.recipe.model);
  s.model->to(s.runtime.device);
  configure_device_math(s.recipe.train, s.runtime.device);
  // Rank 0's initial parameters everywhere (random inits agree anyway; this also checks layout).
  dist::broadcast_parameters(dist::parameters_and_buffers(*s.model), *s.comm);
  if (wants_channels_last(s.recipe.train, s.runtime.device)) s.model->use_channels_last();
  s.groups = make_param_groups(s.model, s.recipe.optim, s.recipe.loss);
  s.optimizer = make_optimizer(s.groups, s.recipe.optim, s.runtime.device);
  if (s.comm->size() > 1 && !s.options.dry_run) {
    dist::GradReducer::NamedTensors params;
    for (const auto& p : s.model->named_parameters()) {
      if (p.value().requires_grad()) params.emplace_back(p.key(), p.value());
    }
    dist::GradReducerOptions o;
    o.first_bucket_bytes = static_cast<int64_t>(s.recipe.distributed.first_bucket_mb * (1 << 20));
    o.bucket_bytes = static_cast<int64_t>(s.recipe.distributed.bucket_mb * (1 << 20));
    s.reducer = std::make_unique<dist::GradReducer>(params, *s.comm, o);
  }
}

void setup_step(Trainer::State& s) {
  const auto& r = s.recipe;
  s.compute.loss = r.loss;
  s.compute.bf16 = r.train.precision == Precision::kBf16 && s.runtime.device.is_cuda();
  s.compute.divide_by = double(s.plan.grad_accum);
  s.defer_reads = defers_host_reads(r.train, s.runtime.device, *s.optimizer);
  if (s.defer_reads) {
    spdlog::info("train.host_sync: the host reads the loss and checks at log, validation and checkpoint steps only; "
                 "a non-finite step in between is skipped on the device and reported at the next of them");
  }
  if (!r.train.cuda_graphs) return;
  std::string why;
  if (!s.runtime.device.is_cuda()) why = cat("the device is ", s.runtime.device.str());
  else if (s.comm->size() > 1) why = cat(s.comm->size(), " ranks (a graph holds no collectives yet)");
  else if (s.options.debug) why = "--debug checks every step's tensors";
  else if (!StepGraph::compiled()) why = "this build has no CUDA";
  if (!why.empty()) {
    spdlog::warn("train.cuda_graphs: not used: {}; the steps run eagerly", why);
    return;
  }
  s.graph = std::make_unique<StepGraph>(s.model, s.groups, s.compute);
  spdlog::info("train.cuda_graphs: the first step captures forward, loss and backward; later steps replay them{}",
               s.plan.grad_accum > 1 ? " (one replay per micro-batch, gradients summed outside the graph)" : "");
}

int64_t steps_from(const Trainer::State& s, int64_t cursor) {
  const int64_t per_rank = s.sampler->samples_per_rank(cursor);
  const int64_t micro = s.recipe.data.drop_last ? per_rank / s.plan.per_rank
                                                : (per_rank + s.plan.per_rank - 1) / s.plan.per_rank;
  return micro / s.plan.grad_accum;
}

StepEvents step_events(const Trainer::State& s, int64_t epoch, int64_t step, bool epoch_end) {
  const auto& t = s.recipe.train;
  const bool last = step == s.total_steps;
  StepEvents e;
  e.log = step % t.log_every == 0 || last || s.options.debug;
  e.validate = s.val_size > 0 && ((t.val_every_steps > 0 && step % t.val_every_steps == 0) ||
                                  (epoch_end && (epoch + 1) % t.val_every_epochs == 0) || last);
  const auto& c = s.recipe.checkpoint;
  e.checkpoint = (c.every_steps > 0 && step % c.every_steps == 0) ||
                 (epoch_end && c.every_epochs > 0 && (epoch + 1) % c.every_epochs == 0) || last;
  return e;
}

void plan_steps(Trainer::State& s) {
  data::SamplerOptions so;
  so.seed = static_cast<uint64_t>(s.recipe.run.seed);
  so.drop_last = s.recipe.data.drop_last;
  s.sampler = std::make_unique<data::DistributedSampler>(s.train_size, s.runtime.rank, s.runtime.world_size, so);
  s.steps_per_epoch = steps_from(s, 0);
  SATCLIP_CHECK(s.steps_per_epoch >= 1,
                cat("one epoch of ", s.train_size, " training tiles gives fewer batches per rank than "
                    "train.grad_accum = ", s.plan.grad_accum),
                "lower train.grad_accum or the batch size, or use more data");
  s.total_steps = s.steps_per_epoch * s.recipe.train.epochs;
  if (s.recipe.train.max_steps > 0) s.total_steps = std::min(s.total_steps, s.recipe.train.max_steps);
  s.schedule = std::make_unique<LrSchedule>(s.recipe.optim, s.total_steps);
}

void prepare_run_dir(Trainer::State& s) {
  namespace fs = std::filesystem;
  const std::string dir = s.recipe.output.dir;
  if (s.runtime.is_main()) {
    std::error_code ec;
    fs::create_directories(fs::path(dir) / "checkpoints", ec);
    SATCLIP_CHECK(!ec, cat("output.dir = ", dir, ": cannot create it or its checkpoints/ folder: ", ec.message()),
                  "choose a writable output.dir (--set output.dir=...)");
    // Unwritable (read-only mount, permissions, full disk) is an error now, not at the first checkpoint.
    for (const auto& folder : {fs::path(dir), fs::path(dir) / "checkpoints"}) {
      const auto probe = folder / cat(".write-test-", ::getpid());
      const bool ok = static_cast<bool>(std::ofstream(probe) << "ok\n");
      fs::remove(probe, ec);
      SATCLIP_CHECK(ok, cat("output.dir = ", dir, ": cannot write into ", folder.string()),
                    "choose a writable output.dir (--set output.dir=...), or fix its permissions or free space");
    }
    write_file_atomically((fs::path(dir) / "config.yaml").string(), recipe_to_yaml(s.recipe));
    // data.verify passed on a changed directory: later starts (a resume) need not read it again.
    if (!s.data.verified_record.empty()) {
      write_file_atomically((fs::path(dir) / kVerifiedRecord).string(), s.data.verified_record);
    }
  }
  s.comm->barrier();
}

void open_metrics(Trainer::State& s) {
  if (!s.runtime.is_main()) return;
  const auto path = std::filesystem::path(s.recipe.output.dir) / "metrics.jsonl";
  const std::string tensorboard =
      s.recipe.train.tensorboard ? (std::filesystem::path(s.recipe.output.dir) / "tensorboard").string() : "";
  if (s.start.step > 0) {
    const int64_t dropped = trim_metrics(path.string(), s.start.step);
    if (dropped > 0) spdlog::info("metrics.jsonl: {} line(s) after step {} or cut short dropped", dropped, s.start.step);
    if (!tensorboard.empty()) {
      const int64_t events = trim_events((std::filesystem::path(tensorboard) / kEventsFile).string(), s.start.step);
      if (events != 0) {
        spdlog::info("tensorboard: {} after step {} dropped", events < 0 ? "a damaged tail" : cat(events, " event(s)"),
                     s.start.step);
      }
    }
    s.metrics = std::make_unique<MetricsLog>(path.string(), /*append=*/true, tensorboard);
    return;
  }
  if (std::filesystem::exists(path)) {
    spdlog::warn("output.dir = {} holds an earlier run: starting over (its metrics.jsonl is replaced; "
                 "--resume auto continues it instead)", s.recipe.output.dir);
  }
  s.metrics = std::make_unique<MetricsLog>(path.string(), /*append=*/false, tensorboard);
  // The recipe as TensorBoard text: indented four spaces, a code block in its Markdown.
  std::string yaml = "    ";
  for (const char c : recipe_to_yaml(s.recipe)) yaml += c == '\n' ? std::string("\n    ") : std::string(1, c);
  s.metrics->write_text("recipe", yaml);
}

std::string Trainer::describe() {
  const auto& r = s_->recipe;
  std::ostringstream out;
  out << "satclip-ddp dry run: " << (r.source.empty() ? std::string("built-in recipe") : r.source) << "\n"
      << recipe_table(r) << "\n";
  out << "data: " << (s_->data.shards.empty() ? r.data.path : s_->data.shards) << ": " << s_->train_size + s_->val_size
      << " tiles, " << s_->train_size << " train, " << s_->val_size << " validation\n";
  out << "batch: " << s_->plan.per_rank << " per rank x " << s_->plan.world << " ranks x " << s_->plan.grad_accum
      << " accumulation = " << s_->plan.per_step() << " samples per step; " << s_->steps_per_epoch
      << " steps per epoch, " << s_->total_steps << " steps in all\n";
  if (!s_->resume_note.empty()) out << "resume: " << s_->resume_note << "\n";
  int64_t total = 0, trainable = 0;
  for (const auto& p : s_->model->parameters()) {
    total += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  auto count_under = [&](const std::string& prefix, bool only_trainable) {
    int64_t n = 0;
    for (const auto& p : s_->model->named_parameters()) {
      if (p.key().rfind(prefix, 0) == 0 && (!only_trainable || p.value().requires_grad())) n += p.value().numel();
    }
    return n;
  };
  out << "parameters: " << total << " total, " << trainable << " trainable\n";
  for (const char* part : {"image_encoder.", "location_encoder.", "image_projection.", "loc_projection.", "logit_scale"}) {
    out << "  " << part << ": " << count_under(part, false) << " (" << count_under(part, true) << " trainable)\n";
  }
  out << "optimizer groups (AdamW):\n";
  for (const char* base : {"image", "location", "projection"}) {
    bool present = false;
    for (const auto& g : s_->groups) present = present || g.name.rfind(base, 0) == 0;
    if (!present) out << "  " << base << ": 0 parameters (nothing trainable there)\n";
  }
  for (const auto& g : s_->groups) {
    out << "  " << g.name << ": " << g.params.size() << " tensors, " << g.numel() << " parameters, lr " << g.lr
        << ", weight decay " << g.weight_decay << "\n";
  }
  for (const auto& line : s_->weight_reports) out << "weights: " << line << "\n";
  // Rank/device layout: every rank's (local rank, device, CPUs, loader threads) gathered to all.
  const auto& rt = s_->runtime;
  const int workers = loader_options(s_->recipe.data, s_->plan.per_rank, rt.device.is_cuda(), rt.cpus.share).workers;
  auto me = torch::tensor({int64_t(rt.local_rank), int64_t(rt.device.is_cuda()),
                           int64_t(rt.device.has_index() ? rt.device.index() : -1), int64_t(rt.cpus.share),
                           int64_t(rt.cpus.allowed), int64_t(rt.cpus.node_cpus), int64_t(workers)})
                .view({1, 7});
  const auto all = s_->comm->all_gather(me);
  out << "layout: " << s_->comm->size() << " rank(s), communicator " << s_->comm->backend() << "\n";
  for (int64_t k = 0; k < all.size(0); ++k) {
    const auto v = [&](int i) { return all[k][i].item<int64_t>(); };
    const auto dev = v(1) ? cat("cuda:", v(2)) : std::string("cpu");
    out << "  rank " << k << " (local " << v(0) << ", host " << rt.host_of(static_cast<int>(k)) << ") on " << dev
        << ", " << v(3) << " CPUs (" << v(4) << " of " << v(5) << " allowed), " << v(6) << " loader threads\n";
  }
  const auto bound = dist::cpu_binding_warning(rt.cpus, rt.local_size);
  if (!bound.empty()) out << "warning: " << bound << "\n";
  return out.str();
}

}  // namespace satclip::core
