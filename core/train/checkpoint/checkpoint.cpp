#include "core/train/checkpoint/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/text.h"
#include "core/model/torch_pickle.h"
#include "core/train/checkpoint/checkpoint_dir.h"

namespace satclip::core {
namespace {

constexpr int kFormat = 1;
constexpr size_t kMaxTextBytes = 1 << 20;

std::string number(double v) {
  if (!std::isfinite(v)) return ".nan";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_text(const std::string& path) {
  return read_regular_file(path, kMaxTextBytes, "a checkpoint's text file",
                           "the checkpoint is damaged; use an earlier one");
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  SATCLIP_CHECK(out.good(), cat(path, ": write failed"), "check free space");
}

class MetaReader {
 public:
  MetaReader(const std::string& text, std::string origin) : origin_(std::move(origin)) {
    std::istringstream in(text);
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty() || line[0] == '#') continue;
      const auto colon = line.find(": ");
      SATCLIP_CHECK(colon != std::string::npos && colon > 0,
                    cat(origin_, " line ", n, ": expected 'key: value', got '", line.substr(0, 80), "'"),
                    "the checkpoint is damaged");
      values_[line.substr(0, colon)] = line.substr(colon + 2);
    }
  }
  const std::map<std::string, std::string>& values() const { return values_; }
  std::string str(const std::string& key) const {
    const auto it = values_.find(key);
    SATCLIP_CHECK(it != values_.end(), cat(origin_, ": no '", key, "'"), "the checkpoint is damaged");
    return it->second;
  }
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    const std::string v = str(key);
    int64_t x = 0;
    SATCLIP_CHECK(parse_integer(v, x) && x >= lo && x <= hi,
                  cat(origin_, ": '", key, "' must be an integer in ", lo, " .. ", hi, ", got '", v.substr(0, 40), "'"),
                  "the checkpoint is damaged");
    return x;
  }
  double real(const std::string& key) const { return parse_real(key, str(key)); }
  double parse_real(const std::string& key, const std::string& v) const {
    if (v == ".nan") return NAN;  // how non-finite values are written
    double x = 0;
    SATCLIP_CHECK(parse_decimal(v, x), cat(origin_, ": '", key, "' must be a number, got '", v.substr(0, 40), "'"),
                  "the checkpoint is damaged");
    return x;
  }

 private:
  std::string origin_;
  std::map<std::string, std::string> values_;
};

}  // namespace

std::string meta_to_text(const CheckpointMeta& m) {
  std::ostringstream o;
  o << "# satclip-ddp checkpoint (satclip-export --info shows it)\n"
    << "format: " << kFormat << "\n"
    << "step: " << m.step << "\n"
    << "epoch: " << m.epoch << "\n"
    << "cursor: " << m.cursor << "\n"
    << "world_size: " << m.world_size << "\n"
    << "global_batch: " << m.global_batch << "\n"
    << "total_steps: " << m.total_steps << "\n"
    << "recipe_hash: " << m.recipe_hash << "\n"
    << "has_best_val: " << int(m.has_best_val) << "\n"
    << "best_val: " << number(m.best_val) << "\n"
    << "is_best: " << int(m.is_best) << "\n"
    << "schedule.best: " << number(m.schedule.best) << "\n"
    << "schedule.has_best: " << int(m.schedule.has_best) << "\n"
    << "schedule.bad: " << m.schedule.bad << "\n"
    << "schedule.plateau_scale: " << number(m.schedule.plateau_scale) << "\n"
    << "saved_at: " << m.saved_at << "\n";
  for (const auto& [k, v] : m.metrics) o << "metric." << k << ": " << number(v) << "\n";
  return o.str();
}

CheckpointMeta parse_meta(const std::string& text, const std::string& origin) {
  const MetaReader r(text, origin);
  constexpr int64_t kBig = int64_t{1} << 50;
  SATCLIP_CHECK(r.integer("format", 0, 1000) == kFormat,
                cat(origin, ": checkpoint format ", r.str("format"), ", this satclip-ddp reads format ", kFormat),
                "use the satclip-ddp version that wrote it");
  CheckpointMeta m;
  m.step = r.integer("step", 0, kBig);
  m.epoch = r.integer("epoch", 0, kBig);
  m.cursor = r.integer("cursor", 0, kBig);
  m.world_size = r.integer("world_size", 1, 1 << 24);
  m.global_batch = r.integer("global_batch", 1, kBig);
  m.total_steps = r.integer("total_steps", 0, kBig);
  m.recipe_hash = r.str("recipe_hash");
  m.has_best_val = r.integer("has_best_val", 0, 1) != 0;
  m.best_val = r.real("best_val");
  m.is_best = r.integer("is_best", 0, 1) != 0;
  m.schedule.best = r.real("schedule.best");
  m.schedule.has_best = r.integer("schedule.has_best", 0, 1) != 0;
  m.schedule.bad = r.integer("schedule.bad", 0, kBig);
  m.schedule.plateau_scale = r.real("schedule.plateau_scale");
  m.saved_at = r.str("saved_at");
  for (const auto& [k, v] : r.values()) {
    if (starts_with(k, "metric.")) m.metrics.emplace_back(k.substr(7), r.parse_real(k, v));
  }
  return m;
}

Checkpoint read_checkpoint(const std::string& dir, CheckpointParts parts) {
  verify_checkpoint_dir(dir);
  Checkpoint c;
  c.meta = parse_meta(read_text(dir + "/meta.yaml"), dir + "/meta.yaml");
  c.recipe_yaml = read_text(dir + "/recipe.yaml");
  if (parts != CheckpointParts::kText) c.model = read_state_dict(dir + "/model.pt");
  if (parts == CheckpointParts::kAll) {
    c.optimizer = read_state_dict(dir + "/optimizer.pt");
    c.rng = read_state_dict(dir + "/rng.pt");
  }
  return c;
}

CheckpointWriter::CheckpointWriter(std::string root, int64_t keep) : root_(std::move(root)), keep_(keep) {}

CheckpointWriter::~CheckpointWriter() { wait(); }

std::string CheckpointWriter::wait() {
  if (thread_.joinable()) thread_.join();
  return error_;
}

void CheckpointWriter::submit(Checkpoint checkpoint) {
  wait();
  error_.clear();
  checkpoint.meta.saved_at = utc_now();
  thread_ = std::thread([this, c = std::move(checkpoint)] {
    try {
      write(c);
    } catch (const std::exception& e) {  // never escapes the thread: reported, training goes on
      error_ = e.what();
      if (const auto* se = dynamic_cast<const Error*>(&e)) error_ = se->message();
      spdlog::error("{}", error_);
    }
  });
}

void CheckpointWriter::write(const Checkpoint& c) {
  const std::string name = checkpoint_name(c.meta.step);
  const auto tensors = [](const StateDict& d) { return [&d](const std::string& p) { write_torch_file(p, d); }; };
  const std::vector<CheckpointFile> files = {
      {"model.pt", tensors(c.model)},
      {"optimizer.pt", tensors(c.optimizer)},
      {"rng.pt", tensors(c.rng)},
      {"meta.yaml", [&](const std::string& p) { write_text(p, meta_to_text(c.meta)); }},
      {"recipe.yaml", [&](const std::string& p) { write_text(p, c.recipe_yaml); }},
  };
  const auto path = write_checkpoint_dir(root_, name, files);
  write_pointer(root_, "latest", name);
  if (c.meta.is_best) write_pointer(root_, "best", name);
  for (const auto& problem : prune_checkpoints(root_, keep_, {read_pointer(root_, "best"), name})) {
    spdlog::warn("pruning old checkpoints: {}", problem);
  }
  spdlog::info("checkpoint {} written (step {})", path, c.meta.step);
}

}  // namespace satclip::core
