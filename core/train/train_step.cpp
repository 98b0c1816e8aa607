#include "core/train/train_step.h"

#include <cmath>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/hash.h"
#include "core/base/stop_signal.h"

namespace satclip::core {

StepRunner::StepRunner(const Recipe& recipe, const dist::Runtime& runtime, dist::Communicator& comm, Learner& learner,
                       const BatchPlan& batch, bool debug)
    : recipe_(recipe), runtime_(runtime), comm_(comm), learner_(learner), batch_(batch), debug_(debug) {
  const auto& r = recipe_;
  compute_.loss = r.loss;
  compute_.bf16 = r.train.precision == Precision::kBf16 && runtime.device.is_cuda();
  compute_.divide_by = double(batch_.grad_accum);
  if (r.train.precision == Precision::kBf16 && !runtime.device.is_cuda()) {
    spdlog::warn("train.precision=bf16 autocasts on CUDA only; this run on {} uses fp32", runtime.device.str());
  }
  defer_reads_ = defers_host_reads(r.train, runtime.device, *learner_.optimizer);
  if (defer_reads_) {
    spdlog::info("train.host_sync: the host reads the loss and checks at log, validation and checkpoint steps only; "
                 "a non-finite step in between is skipped on the device and reported at the next of them");
  }
  if (const char* dir = std::getenv("SATCLIP_SAMPLE_LOG"); dir && *dir) {
    const auto path = cat(dir, "/samples-rank", runtime.rank, ".txt");
    sample_log_.reset(std::fopen(path.c_str(), "a"));
    SATCLIP_CHECK(sample_log_ != nullptr, cat("SATCLIP_SAMPLE_LOG: cannot open ", path), "");
  }
  if (!r.train.cuda_graphs) return;
  std::string why;
  if (!runtime.device.is_cuda()) why = cat("the device is ", runtime.device.str());
  else if (comm.size() > 1) why = cat(comm.size(), " ranks (a graph holds no collectives yet)");
  else if (debug) why = "--debug checks every step's tensors";
  else if (!StepGraph::compiled()) why = "this build has no CUDA";
  if (!why.empty()) {
    spdlog::warn("train.cuda_graphs: not used: {}; the steps run eagerly", why);
    return;
  }
  graph_ = std::make_unique<StepGraph>(learner_.model, learner_.groups, compute_);
  spdlog::info("train.cuda_graphs: the first step captures forward, loss and backward; later steps replay them{}",
               batch_.grad_accum > 1 ? " (one replay per micro-batch, gradients summed outside the graph)" : "");
}

StepRunner::~StepRunner() = default;

void StepRunner::log_samples(int64_t epoch, int64_t step, int64_t micro, const torch::Tensor& index) {
  std::string line = cat(epoch, " ", step, " ", micro);
  const auto idx = index.to(torch::kCPU);
  for (int64_t i = 0; i < idx.numel(); ++i) line += cat(" ", idx[i].item<int64_t>());
  std::fprintf(sample_log_.get(), "%s\n", line.c_str());
  std::fflush(sample_log_.get());
}

// The micro-batch's forward, loss and backward: a replay of the CUDA graph where it applies, else
// eagerly; either adds to the gradients of the step's earlier micro-batches. Returns the objective,
// and the squared gradient norm when the graph computed it (a step of one micro-batch).
std::pair<torch::Tensor, torch::Tensor> StepRunner::compute_micro(const StepBatch& batch, int64_t step,
                                                                  int64_t micro, PhaseTimer& timer) {
  const StepInputs in{batch.images, batch.features, batch.lat_lon};
  if (graph_) {
    auto why = graph_->mismatch(in);
    if (why.empty()) {
      const bool first = !graph_->captured();
      try {
        auto out = graph_->run(in, grad_mode(micro, batch_.grad_accum));
        if (first) spdlog::info("train.cuda_graphs: step {} captured", step);
        timer.mark("graph");
        return out;
      } catch (const Error& e) {
        if (!first) throw;
        // A failed capture leaves the model as it was: train on without the graph.
        spdlog::warn("{}; the steps run eagerly", e.what());
        graph_.reset();
      }
    } else {
      if (why != graph_fallback_) spdlog::info("train.cuda_graphs: step {} runs eagerly: {}", step, why);
      graph_fallback_ = std::move(why);
    }
  }
  StepCompute how = compute_;
  how.timer = &timer;
  if (debug_) {
    how.check = [&](const Embeddings& e) {
      check_finite_rows(e.image, batch.index, "the image embeddings", step);
      check_finite_rows(e.location, batch.index, "the location embeddings", step);
    };
  }
  dist::Communicator& loss_comm = recipe_.loss.gather ? comm_ : static_cast<dist::Communicator&>(local_);
  torch::Tensor objective;
  if (learner_.reducer && micro + 1 < batch_.grad_accum) {
    auto no_sync = learner_.reducer->no_sync();
    objective = forward_backward(learner_.model, in, loss_comm, how);
  } else {
    objective = forward_backward(learner_.model, in, loss_comm, how);
  }
  timer.mark("backward+reduce");
  return {objective, {}};
}

StepOutcome StepRunner::run(BatchSource& source, int64_t epoch, int64_t step, bool read, double lr_factor,
                            PhaseTimer& timer) {
  auto& optimizer = *learner_.optimizer;
  const double clip_norm = recipe_.optim.clip_norm;
  optimizer.zero_grad();
  torch::Tensor loss_sum, sq;  // device scalars
  for (int64_t micro = 0; micro < batch_.grad_accum; ++micro) {
    StepBatch batch;
    if (graph_) batch.images = graph_->static_images();  // the batch lands in the graph's input
    const uint64_t seed = seed_of({recipe_.run.seed, epoch, step, micro, int64_t(runtime_.rank)});
    SATCLIP_CHECK(source.next(batch, seed), cat("the loader ran out of batches at step ", step), "");
    timer.mark("data");
    if (sample_log_) log_samples(epoch, step, micro, batch.index);
    auto [objective, graph_sq] = compute_micro(batch, step, micro, timer);
    source.prefetch();  // the next batch's copy overlaps this micro-batch's compute
    timer.mark("data");
    const auto loss = objective.to(torch::kDouble);
    loss_sum = micro == 0 ? loss : loss_sum + loss;
    sq = graph_sq;
  }
  if (learner_.reducer) learner_.reducer->finish();
  // The global gradient norm (for clipping, and NaN/Inf detection) and the loss.
  if (!sq.defined()) sq = grad_sq_norm(learner_.groups);
  sq = sq.to(loss_sum.device());
  StepOutcome out;
  if (!read) {  // decided on the device: no host wait
    const auto found = deferred_.record(loss_sum, sq, step, comm_);
    timer.mark("backward+reduce");
    apply_update(learner_.model, optimizer, learner_.groups, clip_norm, sq, lr_factor, found);
    timer.mark("optimizer");
    out.read = false;
    return out;
  }
  // The step's one synchronisation with the device, with the record of the steps since the last.
  const auto record = deferred_.pending(loss_sum.device());
  const auto values = torch::stack({loss_sum, sq});
  const auto host = (record.defined() ? torch::cat({values, record}) : values).to(torch::kCPU, torch::kDouble).contiguous();
  const double* h = host.data_ptr<double>();
  if (record.defined())
    deferred_.settle(h[2], h[3], step, recipe_.train.nonfinite == NonFinite::kSkip, optimizer);
  const auto agreed = StepAgreement::reach(h[0] / double(batch_.grad_accum), std::sqrt(h[1]), stop_signal() != 0, comm_);
  timer.mark("backward+reduce");
  out.loss = agreed.loss;
  out.stop = agreed.stop;
  if (agreed.bad_loss || agreed.bad_grad) {
    const std::string tensor = agreed.bad_loss ? "the loss" : "the gradient of " + first_nonfinite_grad(learner_.model);
    SATCLIP_CHECK(recipe_.train.nonfinite == NonFinite::kSkip && !debug_,
                  cat("step ", step, ": non-finite values in ", tensor),
                  "lower the learning rates or set optim.clip_norm; train.nonfinite=skip skips such steps");
    spdlog::warn("step {}: non-finite values in {}; step skipped (train.nonfinite=skip)", step, tensor);
    optimizer.zero_grad();
    out.skipped = true;
    return out;
  }
  apply_update(learner_.model, optimizer, learner_.groups, clip_norm, sq, lr_factor);
  timer.mark("optimizer");
  return out;
}

}  // namespace satclip::core
