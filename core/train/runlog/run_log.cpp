#include "core/train/runlog/run_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/base/duration.h"
#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/line_reader.h"
#include "core/base/text.h"
#include "core/train/runlog/tensorboard.h"

namespace satclip::core {

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  return round_trip_number(v);  // exact, so that losses can be compared between runs
}

int64_t trim_metrics(const std::string& path, int64_t max_step) {
  if (::access(path.c_str(), F_OK) != 0) return 0;
  // A line of the log is a few hundred bytes: 1 MiB is a damaged file, not a long line.
  LineReader in(path, size_t{1} << 20, "the metrics log",
                "move metrics.jsonl out of output.dir (a resumed run starts a new one) or fix it");
  std::string keep;
  std::string line;
  int64_t dropped = 0;
  uint64_t bytes = 0;  // what the lines and their '\n's add up to
  while (in.next(line)) {
    bytes += line.size() + 1;
    // Every line this log writes is one JSON object; anything else was cut short (a full disk).
    const bool whole = line.size() >= 2 && line.front() == '{' && line.back() == '}';
    const auto at = line.find("\"step\":");
    const long long step = at == std::string::npos ? 0 : std::strtoll(line.c_str() + at + 7, nullptr, 10);
    if (whole && step <= max_step) {
      keep += line + "\n";
    } else {
      ++dropped;
    }
  }
  struct stat st {};
  // Also rewritten when only the last '\n' is missing: the next line must not be appended to it.
  if (dropped == 0 && ::stat(path.c_str(), &st) == 0 && uint64_t(st.st_size) == bytes) return 0;
  write_file_atomically(path, keep);  // a crash leaves the whole log or the trimmed one
  return dropped;
}

MetricsLog::MetricsLog() = default;

MetricsLog::MetricsLog(const std::string& path, bool append, const std::string& tensorboard_dir)
    : file_(std::fopen(path.c_str(), append ? "a" : "w")) {
  SATCLIP_CHECK(file_ != nullptr, cat(path, ": cannot open for writing"), "check that output.dir is writable");
  if (!tensorboard_dir.empty()) events_ = std::make_unique<EventWriter>(tensorboard_dir, append);
}

void MetricsLog::write_text(const std::string& tag, const std::string& text) {
  if (events_) events_->text(tag, 0, text);
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::write(const std::string& event, const std::vector<std::pair<std::string, double>>& fields) {
  if (!file_) return;
  std::string line = "{\"event\":\"" + event + "\"";
  for (const auto& [k, v] : fields) line += ",\"" + k + "\":" + json_number(v);
  line += "}\n";
  std::fputs(line.c_str(), file_);
  std::fflush(file_);
  if (!events_) return;
  double step = 0;
  for (const auto& [k, v] : fields) {
    if (k == "step") step = v;
  }
  for (const auto& [k, v] : fields) {
    if (k != "step" && k != "epoch") events_->scalar(event + "/" + k, int64_t(step), v);
  }
}

Progress::Progress(bool enabled) : tty_(enabled && ::isatty(STDERR_FILENO)) {}

void Progress::update(const StepStats& s) {
  if (!tty_) return;
  const double frac = s.total_steps > 0 ? double(s.step) / double(s.total_steps) : 0.0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  const double eta = s.step > 0 ? s.elapsed_s / double(s.step) * double(s.total_steps - s.step) : NAN;
  std::fprintf(stderr, "\r\033[Kepoch %lld [%s] %lld/%lld  %.1f img/s  loss %.4f  lr %.2e  ETA %s",
               (long long)s.epoch, bar.c_str(), (long long)s.step, (long long)s.total_steps, s.img_per_s, s.loss,
               s.lr, format_duration(eta).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (tty_ && drawn_) std::fputs("\n", stderr);
  drawn_ = false;
}

void PhaseTimer::mark(const std::string& phase) {
  const auto now = Clock::now();
  const double dt = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  for (auto& [name, sec] : seconds_) {
    if (name == phase) {
      sec += dt;
      return;
    }
  }
  seconds_.emplace_back(phase, dt);
}

std::string PhaseTimer::summary() const {
  double total = 0;
  for (const auto& p : seconds_) total += p.second;
  std::ostringstream out;
  for (size_t i = 0; i < seconds_.size(); ++i) {
    const auto& [name, sec] = seconds_[i];
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.0f%% (%.1f ms/step)", i ? ", " : "", name.c_str(),
                  total > 0 ? 100.0 * sec / total : 0.0, steps_ > 0 ? 1000.0 * sec / double(steps_) : 0.0);
    out << buf;
  }
  return out.str();
}

void PhaseTimer::reset() {
  seconds_.clear();
  steps_ = 0;
}

}  // namespace satclip::core
