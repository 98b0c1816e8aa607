#include "core/eval/benchmark.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "core/base/error.h"
#include "core/base/json_text.h"
#include "core/eval/probe.h"
#include "core/eval/splits.h"

namespace satclip::core {
namespace {

torch::Tensor predict(const std::string& probe, const torch::Tensor& x, const TaskData& t,
                      const std::vector<int64_t>& train, const std::vector<int64_t>& test, uint64_t seed,
                      const BenchmarkOptions& o) {
  if (probe == "linear") return ridge_probe(x, t.y, train, test, t.kind).predicted;
  if (probe == "knn") return knn_probe(x, t.y, train, test, t.kind).predicted;
  const int64_t classes = t.kind == ProbeTask::kRegression ? 0 : int64_t(t.classes.size());
  return mlp_predict(x, t.y, train, test, classes, seed, o.mlp);
}

std::vector<std::pair<std::string, double>> metrics(const TaskData& t, const torch::Tensor& p, const torch::Tensor& truth) {
  if (t.kind == ProbeTask::kRegression) return {{"mse", mse(p, truth)}, {"r2", r2(p, truth)}};
  return {{"accuracy", accuracy(p, truth)}, {"macro_f1", macro_f1(p, truth)}};
}

std::vector<double> column(const torch::Tensor& t, int64_t c) {
  const auto v = t.select(1, c).contiguous();
  return std::vector<double>(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
}

}  // namespace

Encoder baseline_encoder(const std::string& name) {
  if (name == "raw") {
    return {"raw", [](const torch::Tensor& ll) {
              return torch::stack({ll.select(1, 0) / 90.0, ll.select(1, 1) / 180.0}, 1).to(torch::kFloat);
            }};
  }
  if (name == "sincos") {
    return {"sincos", [](const torch::Tensor& ll) {
              const auto r = torch::deg2rad(ll.to(torch::kDouble));
              return torch::cat({torch::sin(r), torch::cos(r)}, 1).to(torch::kFloat);
            }};
  }
  SATCLIP_FAIL(cat("--baselines: unknown baseline '", name, "'"), "give a comma-separated list of raw, sincos");
}

double ResultRow::mean() const {
  return values.empty() ? 0.0 : std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
}

double ResultRow::std() const {
  if (values.size() < 2) return 0.0;
  const double m = mean();
  double s = 0;
  for (const double v : values) s += (v - m) * (v - m);
  return std::sqrt(s / double(values.size() - 1));
}

namespace {

// Runs job(i) for i < n on `workers` threads; the first exception (by job order of discovery) is
// rethrown here after every thread has joined, and no new job starts once one has failed.
void run_jobs(size_t n, int workers, const std::function<void(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i = next++; i < n && !failed; i = next++) {
      try {
        job(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers && size_t(w) < n; ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

// ATen's intra-op threads divided among `workers` while it lives.
class IntraOpShare {
 public:
  IntraOpShare(int budget, int workers) : before_(at::get_num_threads()) {
    at::set_num_threads(std::max(1, budget / std::max(1, workers)));
  }
  ~IntraOpShare() { at::set_num_threads(before_); }
  IntraOpShare(const IntraOpShare&) = delete;
  IntraOpShare& operator=(const IntraOpShare&) = delete;

 private:
  int before_;
};

struct Fit {
  int64_t seed;
  std::vector<int64_t> train, test;
};

}  // namespace

BenchmarkResult run_benchmark(const std::vector<Encoder>& encoders, const std::vector<TaskData>& tasks,
                              const BenchmarkOptions& o) {
  const int budget = o.threads > 0 ? o.threads : std::max(1, at::get_num_threads());
  BenchmarkResult result;
  for (const auto& task : tasks) {
    const int64_t n = task.lat_lon.size(0);
    const auto lat = column(task.lat_lon, 0), lon = column(task.lat_lon, 1);
    std::vector<int64_t> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    for (const auto& enc : encoders) {
      const auto x = enc.embed(task.lat_lon).to(torch::kCPU, torch::kFloat);
      for (const auto& probe : o.probes) {
        for (const auto& split : o.splits) {
          const auto start = std::chrono::steady_clock::now();
          std::vector<Fit> fits;
          for (int64_t s = 0; s < o.seeds; ++s) {
            if (split == "random") {
              auto [train, test] = probe_split(n, uint64_t(s));
              fits.push_back({s, std::move(train), std::move(test)});
            } else {
              for (auto& f : spatial_folds(lat, lon, o.block_deg, o.folds, uint64_t(s))) {
                fits.push_back({s, std::move(f.train), std::move(f.test)});
              }
            }
          }
          std::vector<torch::Tensor> predicted(fits.size());
          const int workers = std::min(budget, int(fits.size()));
          const IntraOpShare share(budget, workers);
          run_jobs(fits.size(), workers, [&](size_t i) {
            predicted[i] = predict(probe, x, task, fits[i].train, fits[i].test, uint64_t(fits[i].seed), o);
          });
          std::map<std::string, ResultRow> by_metric;
          for (int64_t s = 0; s < o.seeds; ++s) {
            torch::Tensor p = torch::empty({n}, task.y.options()), truth = task.y;
            std::vector<int64_t> rows = all;
            for (size_t i = 0; i < fits.size(); ++i) {
              if (fits[i].seed != s) continue;
              p.index_put_({torch::tensor(fits[i].test, torch::kLong)}, predicted[i]);
              if (split == "random") rows = fits[i].test;
            }
            if (split == "random") {
              const auto r = torch::tensor(rows, torch::kLong);
              p = p.index_select(0, r);
              truth = task.y.index_select(0, r);
            }
            if (s == 0) result.predictions.push_back({enc.name, task.name, probe, split, rows, p});
            for (const auto& [metric, value] : metrics(task, p, truth)) {
              auto& row = by_metric[metric];
              row = {enc.name, task.name, probe, split, metric, row.values, 0};
              row.values.push_back(value);
            }
          }
          const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          for (auto& [_, row] : by_metric) {
            row.seconds = seconds;
            result.rows.push_back(row);
          }
        }
      }
    }
  }
  return result;
}

std::string results_json(const std::vector<ResultRow>& rows) {
  std::ostringstream out;
  out.precision(8);
  out << "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    out << (i ? ",\n    " : "\n    ") << "{\"encoder\": " << json_quote(r.encoder) << ", \"task\": " << json_quote(r.task)
        << ", \"probe\": " << json_quote(r.probe) << ", \"split\": " << json_quote(r.split)
        << ", \"metric\": " << json_quote(r.metric) << ", \"mean\": " << r.mean() << ", \"std\": " << r.std()
        << ", \"seconds\": " << r.seconds << ", \"values\": [";
    for (size_t k = 0; k < r.values.size(); ++k) out << (k ? ", " : "") << r.values[k];
    out << "]}";
  }
  return out.str() + "]";
}

std::string results_markdown(const std::vector<ResultRow>& rows) {
  std::ostringstream out;
  out.precision(4);
  std::vector<std::pair<std::string, std::string>> tables;  // (task, metric) in first-seen order
  std::vector<std::string> columns, encoders;
  for (const auto& r : rows) {
    const std::pair<std::string, std::string> key{r.task, r.metric};
    if (std::find(tables.begin(), tables.end(), key) == tables.end()) tables.push_back(key);
    const std::string c = r.probe + " / " + r.split;
    if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    if (std::find(encoders.begin(), encoders.end(), r.encoder) == encoders.end()) encoders.push_back(r.encoder);
  }
  for (const auto& [task, metric] : tables) {
    out << "\n### " << task << ": " << metric << (metric == "mse" ? " (lower is better)" : " (higher is better)")
        << "\n\n| encoder |";
    for (const auto& c : columns) out << " " << c << " |";
    out << "\n|---|";
    for (size_t i = 0; i < columns.size(); ++i) out << "---|";
    out << "\n";
    for (const auto& e : encoders) {
      out << "| " << e << " |";
      for (const auto& c : columns) {
        const ResultRow* hit = nullptr;
        for (const auto& r : rows) {
          if (r.encoder == e && r.task == task && r.metric == metric && r.probe + " / " + r.split == c) hit = &r;
        }
        if (hit) {
          out << " " << hit->mean() << " ± " << hit->std() << " |";
        } else {
          out << " - |";
        }
      }
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace satclip::core
