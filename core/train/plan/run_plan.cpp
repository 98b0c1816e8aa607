#include "core/train/plan/run_plan.h"

#include <algorithm>

#include "core/base/error.h"
#include "core/recipe/recipe.h"

namespace satclip::core {

BatchPlan plan_batches(const Recipe& r, int world_size) {
  BatchPlan p;
  p.world = world_size;
  p.grad_accum = r.train.grad_accum;
  if (r.data.global_batch_size > 0) {
    SATCLIP_CHECK(r.data.global_batch_size % world_size == 0,
                  cat("data.global_batch_size = ", r.data.global_batch_size, " does not divide among ", world_size,
                      " ranks"),
                  cat("use a multiple of ", world_size, " (e.g. ", (r.data.global_batch_size / world_size + 1) * world_size,
                      "), or set data.global_batch_size=0 and data.batch_size per rank"));
    p.per_rank = r.data.global_batch_size / world_size;
  } else {
    p.per_rank = r.data.batch_size;
  }
  return p;
}

RunPlan::RunPlan(BatchPlan batch, int64_t train_size, int64_t val_size, data::SamplerOptions sampling,
                 RunCadence cadence)
    : batch_(batch), train_size_(train_size), val_size_(val_size), sampling_(sampling), cadence_(cadence) {
  SATCLIP_CHECK(batch_.per_rank >= 1 && batch_.world >= 1 && batch_.grad_accum >= 1 && train_size_ >= 0,
                cat("run plan: batch ", batch_.per_rank, " x ", batch_.world, " ranks x ", batch_.grad_accum,
                    " accumulation over ", train_size_, " samples"),
                "");
  steps_per_epoch_ = steps_from(0);
  SATCLIP_CHECK(steps_per_epoch_ >= 1,
                cat("one epoch of ", train_size_, " training tiles gives fewer batches per rank than "
                    "train.grad_accum = ", batch_.grad_accum),
                "lower train.grad_accum or the batch size, or use more data");
  *this = resumed_at(RunPosition{});
}

RunPlan RunPlan::from_recipe(const Recipe& r, int world_size, int64_t train_size, int64_t val_size, bool debug) {
  data::SamplerOptions sampling;
  sampling.seed = static_cast<uint64_t>(r.run.seed);
  sampling.drop_last = r.data.drop_last;
  RunCadence c;
  c.epochs = r.train.epochs;
  c.max_steps = r.train.max_steps;
  c.log_every = r.train.log_every;
  c.log_every_step = debug;
  c.val_every_steps = r.train.val_every_steps;
  c.val_every_epochs = r.train.val_every_epochs;
  c.checkpoint_every_steps = r.checkpoint.every_steps;
  c.checkpoint_every_epochs = r.checkpoint.every_epochs;
  return RunPlan(plan_batches(r, world_size), train_size, val_size, sampling, c);
}

int64_t RunPlan::steps_from(int64_t cursor) const {
  const data::DistributedSampler sampler(train_size_, 0, int(batch_.world), sampling_);
  const int64_t per_rank = sampler.samples_per_rank(cursor);
  const int64_t micro = sampling_.drop_last ? per_rank / batch_.per_rank
                                            : (per_rank + batch_.per_rank - 1) / batch_.per_rank;
  return micro / batch_.grad_accum;
}

RunPlan RunPlan::resumed_at(RunPosition p) const {
  SATCLIP_CHECK(p.cursor >= 0 && p.cursor <= train_size_ && p.step >= 0 && p.epoch >= 0,
                cat("position ", p.cursor, " is beyond the training split of ", train_size_, " tiles"),
                "resume with the data the checkpoint was trained on");
  RunPlan out = *this;
  if (p.epoch < cadence_.epochs && steps_from(p.cursor) == 0) {
    p.epoch += 1, p.cursor = 0;  // the rest of that epoch is shorter than one step
  }
  int64_t total = p.step;
  if (p.epoch < cadence_.epochs) total += steps_from(p.cursor) + (cadence_.epochs - p.epoch - 1) * steps_per_epoch_;
  if (cadence_.max_steps > 0) total = std::min(total, cadence_.max_steps);
  out.total_steps_ = std::max(total, p.step);
  out.start_ = p;
  return out;
}

std::vector<EpochPlan> RunPlan::epochs() const {
  std::vector<EpochPlan> out;
  int64_t step = start_.step;
  for (int64_t epoch = start_.epoch; epoch < cadence_.epochs && step < total_steps_; ++epoch) {
    EpochPlan e;
    e.epoch = epoch;
    e.cursor = epoch == start_.epoch ? start_.cursor : 0;
    e.first_step = step;
    e.rest = steps_from(e.cursor);
    e.steps = std::min(e.rest, total_steps_ - step);
    step += e.steps;
    out.push_back(e);
  }
  return out;
}

std::vector<int64_t> RunPlan::rank_samples(const EpochPlan& e, int rank) const {
  const data::DistributedSampler sampler(train_size_, rank, int(batch_.world), sampling_);
  auto out = sampler.indices(e.epoch, e.cursor);
  const auto samples = static_cast<size_t>(e.steps * batch_.grad_accum * batch_.per_rank);
  if (out.size() > samples) out.resize(samples);
  return out;
}

std::vector<int64_t> RunPlan::micro_batch(const EpochPlan& e, int64_t k, int64_t micro, int rank) const {
  SATCLIP_CHECK(k >= 0 && k < e.steps && micro >= 0 && micro < batch_.grad_accum,
                cat("run plan: no micro-batch ", micro, " of step ", k, " in an epoch of ", e.steps, " steps"), "");
  const auto all = rank_samples(e, rank);
  const auto begin = std::min(all.size(), static_cast<size_t>((k * batch_.grad_accum + micro) * batch_.per_rank));
  const auto end = std::min(all.size(), begin + static_cast<size_t>(batch_.per_rank));
  return {all.begin() + static_cast<std::ptrdiff_t>(begin), all.begin() + static_cast<std::ptrdiff_t>(end)};
}

StepEvents RunPlan::events(const EpochPlan& e, int64_t step) const {
  const auto& c = cadence_;
  const bool last = step == total_steps_;
  const bool epoch_end = e.ends_epoch(step);
  StepEvents out;
  out.log = step % c.log_every == 0 || last || c.log_every_step;
  out.validate = val_size_ > 0 && ((c.val_every_steps > 0 && step % c.val_every_steps == 0) ||
                                   (epoch_end && (e.epoch + 1) % c.val_every_epochs == 0) || last);
  out.checkpoint = (c.checkpoint_every_steps > 0 && step % c.checkpoint_every_steps == 0) ||
                   (epoch_end && c.checkpoint_every_epochs > 0 && (e.epoch + 1) % c.checkpoint_every_epochs == 0) ||
                   last;
  return out;
}

RunPosition RunPlan::after(const EpochPlan& e, int64_t step) const {
  if (e.ends_epoch(step)) return {step, e.epoch + 1, 0};
  return {step, e.epoch, e.cursor + (step - e.first_step) * batch_.per_step()};
}

}  // namespace satclip::core
