// Trainer::describe(): the --dry-run report.
#include <sstream>

#include "core/base/text.h"
#include "core/recipe/config.h"
#include "core/train/trainer_parts.h"
#include "distributed/cpu_share.h"

namespace satclip::core {

std::vector<std::string> run_summary(const Trainer::State& s) {
  const auto& r = s.recipe;
  const auto& plan = s.plan;
  const auto& b = plan.batch();
  const auto lo = loader_options(r.data, b.per_rank, s.runtime.device.is_cuda(), s.runtime.cpus.share);
  return {cat("data: ", s.data.shards.empty() ? r.data.path : s.data.shards, ": ", plan.train_size() + plan.val_size(),
              " tiles, ", plan.train_size(), " train, ", plan.val_size(), " validation; ", lo.workers,
              " loader threads per rank, ", lo.prefetch, " batches ahead"),
          cat("batch: ", b.per_rank, " per rank x ", b.world, " ranks x ", b.grad_accum, " accumulation = ",
              b.per_step(), " samples per step; ", plan.steps_per_epoch(), " steps per epoch, ", plan.total_steps(),
              " steps in all")};
}

std::string Trainer::describe() {
  const auto& r = s_->recipe;
  std::ostringstream out;
  out << "satclip-ddp dry run: " << (r.source.empty() ? std::string("built-in recipe") : r.source) << "\n"
      << recipe_table(r) << "\n";
  for (const auto& line : run_summary(*s_)) out << line << "\n";
  if (!s_->resume_note.empty()) out << "resume: " << s_->resume_note << "\n";
  int64_t total = 0, trainable = 0;
  for (const auto& p : s_->learner.model->parameters()) {
    total += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  auto count_under = [&](const std::string& prefix, bool only_trainable) {
    int64_t n = 0;
    for (const auto& p : s_->learner.model->named_parameters()) {
      if (starts_with(p.key(), prefix) && (!only_trainable || p.value().requires_grad())) n += p.value().numel();
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
    for (const auto& g : s_->learner.groups) present = present || starts_with(g.name, base);
    if (!present) out << "  " << base << ": 0 parameters (nothing trainable there)\n";
  }
  for (const auto& g : s_->learner.groups) {
    out << "  " << g.name << ": " << g.params.size() << " tensors, " << g.numel() << " parameters, lr " << g.lr
        << ", weight decay " << g.weight_decay << "\n";
  }
  for (const auto& line : s_->learner.weight_reports) out << "weights: " << line << "\n";
  // Rank/device layout: every rank's (local rank, device, CPUs, loader threads) gathered to all.
  const auto& rt = s_->runtime;
  const int workers = loader_options(s_->recipe.data, s_->plan.batch().per_rank, rt.device.is_cuda(), rt.cpus.share).workers;
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
