// RunRecorder: everything a run reports, in one place, after the step that it reports on: the
// progress line (rank 0, on a TTY), the log line and the time-per-phase breakdown every
// train.log_every steps, metrics.jsonl and TensorBoard (rank 0; train.tensorboard), and
// validation's line and record. Every rank logs; only rank 0 writes files.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/recipe/recipe.h"
#include "core/train/batch_source.h"
#include "core/train/checkpoint/run_dir.h"
#include "core/train/runlog/run_log.h"
#include "core/train/validation.h"
#include "distributed/runtime.h"

namespace satclip::core {

class RunRecorder {
 public:
  // Rank 0 opens metrics.jsonl (and tensorboard/): a fresh file for a run from step 0 (warning
  // when it replaces an earlier run's), or, resuming at `start_step`, the earlier lines up to it,
  // appended to. `debug`: a log line at every step.
  RunRecorder(const Recipe& recipe, const RunDir& dir, const dist::Runtime& runtime, int64_t start_step,
              int64_t total_steps, int64_t samples_per_step, bool debug);
  ~RunRecorder();

  // The run's clock starts (elapsed time, images per second).
  void begin();
  PhaseTimer& timer() { return timer_; }
  // Ends the progress line before other output.
  void pause() { progress_.finish(); }
  // After step `step` of epoch `epoch`: the progress line; with `log`, the log line, the train
  // metrics (`loss` when read, else the last read loss is shown) and the phase breakdown
  // (with the source's loader statistics).
  void step(int64_t epoch, int64_t step, bool read, double loss, double lr, bool log, BatchSource& source);
  // A validation's log line and val metrics.
  void validation(const ValResult& v, bool external_gallery, int64_t epoch, int64_t step, double seconds);
  double elapsed_s() const;
  double last_loss() const { return last_loss_; }

 private:
  using Clock = std::chrono::steady_clock;
  const dist::Runtime& runtime_;
  int64_t start_step_, total_steps_, samples_per_step_;
  bool debug_;
  std::unique_ptr<MetricsLog> metrics_;  // rank 0
  Progress progress_;
  PhaseTimer timer_;
  Clock::time_point start_ = Clock::now(), interval_start_ = start_;
  int64_t interval_steps_ = 0;
  double last_loss_ = 0;
};

}  // namespace satclip::core
