// StepRunner: one optimizer step, top to bottom. For each of train.grad_accum micro-batches: the
// next batch from the source, forward + loss over the global batch + backward (a CUDA graph's
// replay where train.cuda_graphs applies, else eagerly; the reducer averages gradients in
// buckets on the last micro-batch), then the global gradient norm, the ranks' StepAgreement on
// loss, non-finite values and stop signals (at read steps; between them the device decides, see
// step_checks.h), and the AdamW update with clipping. Owns the step's settings and its device-side
// state (graph, deferred checks); the model and optimizer are the Learner's.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "core/recipe/recipe.h"
#include "core/train/batch_source.h"
#include "core/train/learner.h"
#include "core/train/plan/run_plan.h"
#include "core/train/runlog/run_log.h"
#include "core/train/step_checks.h"
#include "core/train/step_compute.h"
#include "core/train/step_graph.h"
#include "distributed/local_communicator.h"
#include "distributed/runtime.h"

namespace satclip::core {

struct StepOutcome {
  bool read = true;  // the host read this step's results (else loss and stop are unknown)
  double loss = 0;   // the mean over micro-batches and ranks
  bool skipped = false;
  bool stop = false;  // some rank received a stop signal
};

class StepRunner {
 public:
  // Resolves the step's settings (precision, train.host_sync, train.cuda_graphs: logs where a
  // graph does not apply and why). `debug`: NaN/Inf checks on every step's tensors. With the
  // environment variable SATCLIP_SAMPLE_LOG=DIR every rank appends the indices of every
  // micro-batch it trains on to DIR/samples-rank<N>.txt ("epoch step micro index...": the
  // integration tests' record of what the loader delivered).
  StepRunner(const Recipe& recipe, const dist::Runtime& runtime, dist::Communicator& comm, Learner& learner,
             const BatchPlan& batch, bool debug);
  ~StepRunner();
  StepRunner(const StepRunner&) = delete;
  StepRunner& operator=(const StepRunner&) = delete;

  // train.host_sync resolved to log: only steps with events read on the host.
  bool defers_reads() const { return defer_reads_; }
  // One optimizer step at learning-rate factor `lr_factor`. `read`: the host reads its loss and
  // checks (else they are decided on the device). Collective.
  StepOutcome run(BatchSource& source, int64_t epoch, int64_t step, bool read, double lr_factor, PhaseTimer& timer);

 private:
  std::pair<torch::Tensor, torch::Tensor> compute_micro(const StepBatch& batch, int64_t step, int64_t micro,
                                                        PhaseTimer& timer);
  void log_samples(int64_t epoch, int64_t step, int64_t micro, const torch::Tensor& index);

  const Recipe& recipe_;
  const dist::Runtime& runtime_;
  dist::Communicator& comm_;
  dist::LocalCommunicator local_;  // the loss's communicator when loss.gather=false
  Learner& learner_;
  BatchPlan batch_;
  bool debug_ = false;
  StepCompute compute_;
  std::unique_ptr<StepGraph> graph_;  // train.cuda_graphs, where it applies
  std::string graph_fallback_;        // the last reason a step ran eagerly
  bool defer_reads_ = false;
  DeferredChecks deferred_;  // the device's verdicts between read steps
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, FileCloser> sample_log_;  // SATCLIP_SAMPLE_LOG
};

}  // namespace satclip::core
