// What a run shows and keeps: metrics.jsonl (one JSON object a line, rank 0), and progress on
// the console (a bar redrawn in place on a TTY; plain periodic log lines otherwise, for CI and
// SLURM logs).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace satclip::core {

class EventWriter;

// Writes JSON lines to a file, flushed after each line so a killed run keeps what it logged; with
// a TensorBoard folder, the same numbers as TensorBoard scalars (core/train/runlog/tensorboard.h).
class MetricsLog {
 public:
  MetricsLog();
  // Starts the file anew (a fresh run replaces an earlier run's metrics in the same folder), or
  // appends to it (a resumed run); the same for tensorboard_dir's events file unless it is empty.
  explicit MetricsLog(const std::string& path, bool append = false, const std::string& tensorboard_dir = "");
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  // {"event": event, key: value, ...} in the given order; non-finite numbers become null. Each
  // field but epoch and step is also the scalar "<event>/<key>" at the field "step".
  void write(const std::string& event, const std::vector<std::pair<std::string, double>>& fields);
  // TensorBoard only: `text` under `tag` at step 0.
  void write_text(const std::string& tag, const std::string& text);
  bool is_open() const { return file_ != nullptr; }

 private:
  std::FILE* file_ = nullptr;
  std::unique_ptr<EventWriter> events_;
};

// Keeps only the lines of the metrics file `path` whose "step" is at most `max_step` (a resumed run
// trains the later steps again), and drops a line a crash cut short (not a whole `{...}`); the
// kept file ends in '\n'. Returns how many lines were dropped. A missing file is empty;
// one that is not a regular file (a FIFO would wait forever) or has a line over 1 MiB throws
// satclip::Error naming it.
int64_t trim_metrics(const std::string& path, int64_t max_step);

// A number as JSON (integers without a fraction, non-finite as null).
std::string json_number(double v);

struct StepStats {
  int64_t epoch = 0, step = 0, total_steps = 0;
  double loss = 0, lr = 0, img_per_s = 0, elapsed_s = 0;
};

// Rank 0's console progress. On a TTY a single line is redrawn (epoch, step/total, img/s, loss,
// lr, ETA); otherwise update() prints nothing and the trainer logs every train.log_every steps.
class Progress {
 public:
  explicit Progress(bool enabled);
  bool interactive() const { return tty_; }
  void update(const StepStats& s);
  void finish();  // ends the redrawn line

 private:
  bool tty_ = false;
  bool drawn_ = false;
};

// Wall-clock time per phase of a step (data wait, forward, gather + loss, backward + reduce,
// optimizer), summed since the last reset.
class PhaseTimer {
 public:
  using Clock = std::chrono::steady_clock;
  void start() { last_ = Clock::now(); }
  void mark(const std::string& phase);  // time since the last mark/start goes to `phase`
  std::string summary() const;          // "data 12% (3.1 ms/step), forward ...", in first-seen order
  void reset();  // starts a new interval
  int64_t steps() const { return steps_; }
  void count_step() { ++steps_; }

 private:
  Clock::time_point last_{};
  std::vector<std::pair<std::string, double>> seconds_;
  int64_t steps_ = 0;
};

}  // namespace satclip::core
