#include "core/train/run_recorder.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/base/duration.h"
#include "core/recipe/config.h"
#include "core/train/runlog/tensorboard.h"

namespace satclip::core {

RunRecorder::RunRecorder(const Recipe& recipe, const RunDir& dir, const dist::Runtime& runtime, int64_t start_step,
                         int64_t total_steps, int64_t samples_per_step, bool debug)
    : runtime_(runtime),
      start_step_(start_step),
      total_steps_(total_steps),
      samples_per_step_(samples_per_step),
      debug_(debug),
      progress_(runtime.is_main()) {
  if (!runtime.is_main()) return;
  const std::string tensorboard = recipe.train.tensorboard ? dir.tensorboard() : "";
  if (start_step > 0) {
    const int64_t dropped = trim_metrics(dir.metrics(), start_step);
    if (dropped > 0) spdlog::info("metrics.jsonl: {} line(s) after step {} or cut short dropped", dropped, start_step);
    if (!tensorboard.empty()) {
      const int64_t events = trim_events(tensorboard + "/" + kEventsFile, start_step);
      if (events != 0) {
        spdlog::info("tensorboard: {} after step {} dropped", events < 0 ? "a damaged tail" : cat(events, " event(s)"),
                     start_step);
      }
    }
    metrics_ = std::make_unique<MetricsLog>(dir.metrics(), /*append=*/true, tensorboard);
    return;
  }
  if (std::filesystem::exists(dir.metrics())) {
    spdlog::warn("output.dir = {} holds an earlier run: starting over (its metrics.jsonl is replaced; "
                 "--resume auto continues it instead)", dir.root());
  }
  metrics_ = std::make_unique<MetricsLog>(dir.metrics(), /*append=*/false, tensorboard);
  // The recipe as TensorBoard text: indented four spaces, a code block in its Markdown.
  std::string yaml = "    ";
  for (const char c : recipe_to_yaml(recipe)) yaml += c == '\n' ? std::string("\n    ") : std::string(1, c);
  metrics_->write_text("recipe", yaml);
}

RunRecorder::~RunRecorder() = default;

void RunRecorder::begin() { start_ = interval_start_ = Clock::now(); }

double RunRecorder::elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void RunRecorder::step(int64_t epoch, int64_t step, bool read, double loss, double lr, bool log, BatchSource& source) {
  timer_.count_step();
  ++interval_steps_;
  if (read) last_loss_ = loss;
  const double now_s = elapsed_s();
  const double dt = std::chrono::duration<double>(Clock::now() - interval_start_).count();
  const double img_s = dt > 0 ? double(interval_steps_ * samples_per_step_) / dt : 0.0;
  progress_.update({epoch + 1, step, total_steps_, last_loss_, lr, img_s, now_s});
  if (!log) return;
  if (metrics_) {
    metrics_->write("train", {{"epoch", double(epoch)}, {"step", double(step)}, {"loss", loss}, {"lr", lr},
                              {"img_per_s", img_s}, {"time_s", now_s}});
  }
  if (!progress_.interactive() || debug_) {
    const double done = double(step - start_step_);
    spdlog::info("epoch {} step {}/{}: loss {:.5f}, lr {:.3e}, {:.1f} img/s, {} elapsed, ETA {}", epoch + 1, step,
                 total_steps_, loss, lr, img_s, format_duration(now_s),
                 format_duration(now_s / done * double(total_steps_ - step)));
  }
  progress_.finish();  // on a TTY: keep the bar's last state, then the breakdown below it
  spdlog::info("time per step: {}{}", timer_.summary(), source_summary(source.take_stats(), runtime_.device));
  timer_.reset();
  interval_start_ = Clock::now();
  interval_steps_ = 0;
}

void RunRecorder::validation(const ValResult& v, bool external_gallery, int64_t epoch, int64_t step, double seconds) {
  progress_.finish();
  const auto& m = v.retrieval;
  const std::string chance = external_gallery ? std::string("external gallery")
                                              : fmt::format("chance {:.2f}%", 100.0 / double(std::max<int64_t>(1, m.n)));
  spdlog::info("validation after step {}: loss {:.4f}, top-1 {:.2f}% top-5 {:.2f}% ({}), "
               "within 25/200/750/2500 km {:.1f}/{:.1f}/{:.1f}/{:.1f}%, median {:.0f} km, n {} ({:.1f} s)",
               step, v.loss, 100 * m.top1, 100 * m.top5, chance, 100 * m.within[0], 100 * m.within[1],
               100 * m.within[2], 100 * m.within[3], m.median_km, m.n, seconds);
  if (metrics_) {
    metrics_->write("val", {{"epoch", double(epoch)}, {"step", double(step)}, {"loss", v.loss}, {"top1", m.top1},
                            {"top5", m.top5}, {"acc_25km", m.within[0]}, {"acc_200km", m.within[1]},
                            {"acc_750km", m.within[2]}, {"acc_2500km", m.within[3]}, {"median_km", m.median_km},
                            {"n", double(m.n)}});
  }
}

}  // namespace satclip::core
