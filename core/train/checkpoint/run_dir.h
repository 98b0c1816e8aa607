// RunDir: the run directory (output.dir) and the one place that spells its layout:
//   config.yaml            the resolved recipe
//   metrics.jsonl          train and val lines (run_log.h)
//   tensorboard/           the same numbers as TensorBoard scalars, with train.tensorboard
//   verified-shards.txt    data.verify's record of the shards it last verified
//   checkpoints/step-<N>/  full checkpoints (checkpoint.h), latest, last.pt and best.pt
//   log-rank<N>.txt        every rank's log (core/base/logging.h writes it)
#pragma once

#include <cstdint>
#include <string>

namespace satclip::core {

class RunDir {
 public:
  explicit RunDir(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string config() const { return root_ + "/config.yaml"; }
  std::string metrics() const { return root_ + "/metrics.jsonl"; }
  std::string tensorboard() const { return root_ + "/tensorboard"; }
  std::string verified_record() const { return root_ + "/verified-shards.txt"; }
  std::string checkpoints() const { return root_ + "/checkpoints"; }
  std::string checkpoint(int64_t step) const;  // checkpoints/step-<N>
  std::string last_weights() const { return checkpoints() + "/last.pt"; }
  std::string best_weights() const { return checkpoints() + "/best.pt"; }

  // Creates the folder and checkpoints/, and checks that both take a file now (a read-only mount,
  // permissions or a full disk fail here, not at the first checkpoint). Throws satclip::Error
  // naming output.dir.
  void create() const;

 private:
  std::string root_;
};

}  // namespace satclip::core
