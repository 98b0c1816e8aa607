// What a resumable checkpoint holds, and the background writer of rank 0.
//
// Files of `output.dir/checkpoints/step-<N>/` (written by the protocol of checkpoint_dir.h):
//   model.pt      parameters and buffers: a PyTorch state dict the seed's SatCLIP loads strictly
//   optimizer.pt  AdamW state per trainable parameter: "<name>.exp_avg", "<name>.exp_avg_sq",
//                 "<name>.step"
//   rng.pt        every rank's generator states: "cpu.rank<k>", "cuda.rank<k>" (uint8)
//   meta.yaml     step, epoch, global sample position, world size, schedule, metrics (below)
//   recipe.yaml   the resolved recipe the run used
// Augmentation and the loader draw no state of their own: their randomness is a pure function of
// (run.seed, epoch, step, micro-batch, rank) and of the sampler's (seed, epoch), so the step and
// the position restore it.
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/model/state_dict.h"
#include "core/train/optim/optim.h"

namespace satclip::core {

struct CheckpointMeta {
  int64_t step = 0;          // optimizer steps done
  int64_t epoch = 0;         // the epoch to continue in (0-based)
  int64_t cursor = 0;        // global sample position inside that epoch (0: at its start)
  int64_t world_size = 1;
  int64_t global_batch = 0;  // samples per optimizer step
  int64_t total_steps = 0;
  std::string recipe_hash;   // recipe_identity_hash() of the run's recipe
  bool has_best_val = false;
  double best_val = 0;       // the lowest validation loss so far
  bool is_best = false;      // that loss was measured at this step
  LrSchedule::State schedule;
  std::vector<std::pair<std::string, double>> metrics;  // at save time: loss, val_loss, top1, ...
  std::string saved_at;      // UTC, ISO 8601
};

struct Checkpoint {
  CheckpointMeta meta;
  std::string recipe_yaml;
  StateDict model, optimizer, rng;  // CPU tensors
};

// meta.yaml text and back; parse errors name `origin` and the key or line.
std::string meta_to_text(const CheckpointMeta& meta);
CheckpointMeta parse_meta(const std::string& text, const std::string& origin);

// Which of a checkpoint's files read_checkpoint reads besides meta.yaml and recipe.yaml.
enum class CheckpointParts {
  kText,   // none: the Checkpoint's tensors stay empty
  kModel,  // model.pt (a dry run, an export)
  kAll,    // model.pt, optimizer.pt and rng.pt (resuming training)
};

// Verifies `dir` (see verify_checkpoint_dir) and reads the files `parts` names. Errors name the file.
Checkpoint read_checkpoint(const std::string& dir, CheckpointParts parts = CheckpointParts::kAll);

// Writes checkpoints on a background thread, one at a time: submit() returns once the previous
// write has finished and the new one has started, so training waits only for the copy to host
// memory (done by the caller) and, rarely, for a write still running. After each write the
// `latest` pointer (and `best` for a best checkpoint) is updated and older checkpoints beyond
// `keep` are removed (never the best one). A failed write is logged as an error and leaves the
// earlier checkpoints usable.
class CheckpointWriter {
 public:
  CheckpointWriter(std::string root, int64_t keep);
  ~CheckpointWriter();  // waits for a write in progress (local file I/O, never other ranks)
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  void submit(Checkpoint checkpoint);
  // Waits for the write in progress; returns "" on success, else the error message.
  std::string wait();
  const std::string& root() const { return root_; }

 private:
  void write(const Checkpoint& c);

  std::string root_;
  int64_t keep_;
  std::thread thread_;
  std::string error_;
};

}  // namespace satclip::core
