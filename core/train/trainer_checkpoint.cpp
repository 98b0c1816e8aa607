// Trainer checkpoints: the snapshot written at step boundaries and --resume.
#include <ATen/Context.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/recipe/config.h"
#include "core/train/checkpoint/checkpoint_dir.h"
#include "core/train/trainer_parts.h"

namespace satclip::core {
namespace {

// A tensor's value in host memory. From a GPU the copy is asynchronous, into page-locked memory,
// in stream order (so before the next step's update): wait_for_host_copies() before reading it.
// One wait for the whole snapshot instead of one per tensor, and DMA instead of staged copies.
torch::Tensor host_copy(const torch::Tensor& t) {
  if (!t.is_cuda()) return t.detach().to(torch::kCPU, false, /*copy=*/true);
  auto out = at::empty_like(t, t.options().device(torch::kCPU).pinned_memory(true), c10::MemoryFormat::Preserve);
  out.copy_(t.detach(), /*non_blocking=*/true);
  return out;
}

void wait_for_host_copies(const torch::Device& device) {
  if (!device.is_cuda()) return;
  const c10::impl::VirtualGuardImpl guard(device.type());
  guard.getStream(device).synchronize();
}

// Every rank's generator state for `device`, gathered: [world, bytes] uint8 on the CPU.
// `comm_device`: where the communicator takes tensors (the rank's device).
torch::Tensor gather_rng(dist::Communicator& comm, const torch::Device& comm_device, const torch::Device& device) {
  const auto state = at::globalContext().defaultGenerator(device).get_state();
  return comm.all_gather(state.view({1, -1}).to(comm_device)).to(torch::kCPU);
}

// Rank 0's string on every rank.
std::string broadcast_string(dist::Communicator& comm, const torch::Device& comm_device, const std::string& text) {
  auto n = torch::tensor({int64_t(text.size())}, torch::kLong).to(comm_device);
  comm.broadcast(n, 0);
  const int64_t size = n.item<int64_t>();
  auto bytes = torch::zeros({std::max<int64_t>(size, 1)}, torch::kByte);
  if (comm.rank() == 0) std::copy(text.begin(), text.end(), bytes.data_ptr<uint8_t>());
  bytes = bytes.to(comm_device);
  comm.broadcast(bytes, 0);
  bytes = bytes.to(torch::kCPU);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), size_t(size));
}

const torch::Tensor* find(const StateDict& d, const std::string& name) {
  for (const auto& [k, t] : d) {
    if (k == name) return &t;
  }
  return nullptr;
}

// `force` (--resume-force): parameters without saved state start fresh.
void restore_optimizer(const Learner& learner, const StateDict& saved, const std::string& origin, bool force) {
  auto& state = learner.optimizer->state();
  std::vector<std::string> missing;
  int64_t restored = 0;
  for (const auto& g : learner.groups) {
    for (size_t i = 0; i < g.params.size(); ++i) {
      const auto& name = g.names[i];
      const auto& p = g.params[i];
      const auto* avg = find(saved, name + ".exp_avg");
      const auto* sq = find(saved, name + ".exp_avg_sq");
      const auto* step = find(saved, name + ".step");
      if (!avg || !sq || !step) {
        missing.push_back(name);
        continue;
      }
      SATCLIP_CHECK(avg->sizes() == p.sizes() && sq->sizes() == p.sizes() && step->numel() == 1 &&
                        step->scalar_type() == torch::kLong,
                    cat(origin, ": the optimizer state of ", name, " has shape ", avg->sizes(), ", the parameter ",
                        p.sizes()),
                    "resume with the recipe that wrote the checkpoint");
      auto st = std::make_unique<torch::optim::AdamWParamState>();
      st->step(step->item<int64_t>());
      st->exp_avg(avg->to(p.device(), p.scalar_type()).clone());
      st->exp_avg_sq(sq->to(p.device(), p.scalar_type()).clone());
      state[p.unsafeGetTensorImpl()] = std::move(st);
      ++restored;
    }
  }
  if (!missing.empty() && restored > 0) {
    SATCLIP_CHECK(force,
                  cat(origin, ": no optimizer state for ", missing.size(), " trainable parameter(s), e.g. ",
                      missing.front()),
                  "the checkpoint trained other parameters; resume with its recipe, or pass --resume-force to start "
                  "their optimizer state fresh");
    spdlog::warn("--resume-force: optimizer state starts fresh for {} parameter(s)", missing.size());
  }
}

void restore_rng(const dist::Runtime& runtime, const Checkpoint& c) {
  const int64_t from = runtime.rank % c.meta.world_size;
  const auto set = [&](const char* kind, const torch::Device& device) {
    const auto* t = find(c.rng, cat(kind, ".rank", from));
    if (!t) return;
    auto gen = at::globalContext().defaultGenerator(device);
    const auto expected = gen.get_state();
    SATCLIP_CHECK(t->numel() == expected.numel() && t->scalar_type() == torch::kByte,
                  cat(c.meta.step, ": the ", kind, " generator state of rank ", from, " has ", t->numel(),
                      " bytes, this build's has ", expected.numel()),
                  "resume with the satclip-ddp build that wrote the checkpoint, or on the same kind of device");
    gen.set_state(t->contiguous());
  };
  set("cpu", torch::Device(torch::kCPU));
  if (runtime.device.is_cuda()) set("cuda", runtime.device);
}

}  // namespace

std::vector<std::pair<std::string, double>> checkpoint_metrics(const FitResult& r, double lr) {
  std::vector<std::pair<std::string, double>> m = {{"loss", r.last_loss}, {"lr", lr}};
  if (r.validated) {
    const auto& v = r.last_val;
    m.insert(m.end(), {{"val_loss", v.loss}, {"top1", v.retrieval.top1}, {"top5", v.retrieval.top5},
                       {"median_km", v.retrieval.median_km}, {"val_n", double(v.retrieval.n)}});
  }
  return m;
}

void save_best_copy(const Trainer::State& s) {
  if (!s.runtime.is_main()) return;
  const std::string path = s.dir.best_weights();
  try {
    save_state_dict(*s.learner.model, path);
  } catch (const satclip::Error& e) {
    spdlog::error("{} not written: {} (training goes on)", path, e.message());
  }
}

void save_checkpoint(Trainer::State& s, const RunPosition& at, bool is_best,
                     const std::vector<std::pair<std::string, double>>& metrics) {
  const auto& device = s.runtime.device;
  const auto cpu_rng = gather_rng(*s.comm, device, torch::Device(torch::kCPU));
  const auto cuda_rng = device.is_cuda() ? gather_rng(*s.comm, device, device) : torch::Tensor();
  if (!s.runtime.is_main()) return;
  Checkpoint c;
  auto& m = c.meta;
  m.step = at.step;
  m.epoch = at.epoch;
  m.cursor = at.cursor;
  m.world_size = s.comm->size();
  m.global_batch = s.plan.batch().per_step();
  m.total_steps = s.plan.total_steps();
  m.recipe_hash = recipe_identity_hash(s.recipe);
  m.has_best_val = s.best.has;
  m.best_val = s.best.loss;
  m.is_best = is_best;
  m.schedule = s.schedule->state();
  m.metrics = metrics;
  c.recipe_yaml = recipe_to_yaml(s.recipe);
  for (const auto& [name, t] : module_state(*s.learner.model)) c.model.emplace_back(name, host_copy(t));
  const auto& opt_state = s.learner.optimizer->state();
  for (const auto& g : s.learner.groups) {
    for (size_t i = 0; i < g.params.size(); ++i) {
      const auto it = opt_state.find(g.params[i].unsafeGetTensorImpl());
      if (it == opt_state.end()) continue;
      const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
      c.optimizer.emplace_back(g.names[i] + ".exp_avg", host_copy(st.exp_avg()));
      c.optimizer.emplace_back(g.names[i] + ".exp_avg_sq", host_copy(st.exp_avg_sq()));
      c.optimizer.emplace_back(g.names[i] + ".step", torch::tensor(st.step(), torch::kLong));
    }
  }
  wait_for_host_copies(s.runtime.device);
  for (int64_t k = 0; k < cpu_rng.size(0); ++k) {
    c.rng.emplace_back(cat("cpu.rank", k), cpu_rng[k].clone());
    if (cuda_rng.defined()) c.rng.emplace_back(cat("cuda.rank", k), cuda_rng[k].clone());
  }
  if (!s.writer) s.writer = std::make_unique<CheckpointWriter>(s.dir.checkpoints(), s.recipe.checkpoint.keep);
  s.writer->submit(std::move(c));
}

namespace {

// --resume's checkpoint directory ("" when `auto` finds none): rank 0 chooses (and verifies),
// every rank gets its choice; a failure fails every rank alike, with rank 0's message.
std::string choose_checkpoint(const Trainer::State& s) {
  const std::string& arg = s.options.resume;
  std::string choice;  // "!" + message + "\n" + hint on failure
  if (s.runtime.is_main()) {
    std::vector<std::string> skipped;
    try {
      choice = arg == "auto" ? find_newest_checkpoint(s.dir.checkpoints(), &skipped)
                             : resolve_checkpoint_path(arg, &skipped);
    } catch (const Error& e) {
      choice = "!" + e.message() + "\n" + e.hint();
    }
    for (const auto& why : skipped) spdlog::warn("--resume {}: skipping a damaged checkpoint: {}", arg, why);
  }
  choice = broadcast_string(*s.comm, s.runtime.device, choice);
  if (!choice.empty() && choice[0] == '!') {
    const auto nl = choice.find('\n');
    SATCLIP_FAIL(choice.substr(1, nl - 1), choice.substr(nl + 1));
  }
  return choice;
}

}  // namespace

Resumed resume_run(Trainer::State& s) {
  Resumed out;
  if (s.options.resume.empty()) return out;
  const std::string choice = choose_checkpoint(s);
  if (choice.empty()) {
    s.resume_note = cat("auto: no checkpoint in ", s.dir.checkpoints(), "; a fresh start");
    spdlog::info("--resume {}", s.resume_note);
    return out;
  }
  // A dry run restores no optimizer and no RNG, so it reads only the model's tensors.
  const Checkpoint c =
      read_checkpoint(choice, s.options.dry_run ? CheckpointParts::kModel : CheckpointParts::kAll);
  const auto& m = c.meta;
  // Decided on the keys themselves: a checkpoint of an earlier build has another hash for the
  // same recipe when that build wrote numbers otherwise (recipe_identity_changes).
  const auto changes = m.recipe_hash == recipe_identity_hash(s.recipe)
                           ? std::vector<std::string>()
                           : recipe_identity_changes(s.recipe, c.recipe_yaml, choice + "/recipe.yaml");
  if (!changes.empty()) {
    std::string list;
    for (const auto& ch : changes) list += "\n  " + ch;
    SATCLIP_CHECK(s.options.resume_force,
                  cat(choice, " was trained with another model/data recipe:", list),
                  "resume with the checkpoint's recipe (its recipe.yaml), or pass --resume-force to load it anyway");
    spdlog::warn("--resume-force: the checkpoint's recipe differs:{}", list);
  }
  const auto report = load_state_dict(*s.learner.model, c.model, LoadOptions{}, choice + "/model.pt");
  SATCLIP_CHECK(report.clean(), cat(choice, "/model.pt does not fit the model: ", report.summary()),
                "resume with the checkpoint's recipe (its recipe.yaml)");
  if (!s.options.dry_run) {  // a dry run has no optimizer and draws nothing
    restore_optimizer(s.learner, c.optimizer, choice + "/optimizer.pt", s.options.resume_force);
    restore_rng(s.runtime, c);
  }
  SATCLIP_CHECK(m.cursor <= s.plan.train_size(),
                cat(choice, ": position ", m.cursor, " is beyond the training split of ", s.plan.train_size(), " tiles"),
                "resume with the data the checkpoint was trained on");
  if (m.global_batch != s.plan.batch().per_step()) {
    spdlog::warn("the global batch changes from {} (checkpoint, {} ranks) to {} ({} ranks); set "
                 "data.global_batch_size to keep it", m.global_batch, m.world_size, s.plan.batch().per_step(),
                 s.comm->size());
  }
  out.from = choice;
  out.at = {m.step, m.epoch, m.cursor};
  out.schedule = m.schedule;
  out.best = {m.has_best_val, m.best_val};
  out.written = cat("written at ", m.world_size, " rank(s), ", m.saved_at);
  return out;
}

}  // namespace satclip::core
