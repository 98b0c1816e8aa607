// Benchmark: forward + loss + backward of SatClip on the CPU, one process.
//   bench_model RECIPE.yaml [--batch B] [--steps N] [--threads T] [--set key=value]...
// Uses the recipe's model, loss and image size; synthetic inputs. Prints ms/step and images/s
// (mean over N steps after 2 warm-up steps).
#include <chrono>
#include <cstdio>

#include "core/apps/cli.h"
#include "core/recipe/config.h"
#include "core/train/losses.h"
#include "core/model/satclip.h"
#include "distributed/local_communicator.h"

using namespace satclip::core;

namespace {

int body(int argc, char** argv) {
  const auto overrides = satclip::cli::take_overrides(argc, argv);  // --set may repeat
  satclip::cli::Args a(argc, argv, {"batch", "steps", "threads"});
  if (a.help() || a.positional().size() != 1) {
    std::puts("usage: bench_model RECIPE.yaml [--batch B] [--steps N] [--threads T] [--set key=value]...");
    return a.help() ? 0 : 2;
  }
  const Recipe r = load_recipe(a.positional()[0], overrides);
  const int64_t batch = a.integer("batch", r.data.batch_size, 2, 4096);
  const int steps = static_cast<int>(a.integer("steps", 5, 1, 1000));
  if (a.has("threads")) torch::set_num_threads(static_cast<int>(a.integer("threads", 1, 1, 256)));
  torch::manual_seed(0);
  SatClip model(r.model, r.loss);
  model->train(true);
  satclip::dist::LocalCommunicator comm;
  const auto images = torch::rand({batch, r.model.in_bands, r.data.image_size, r.data.image_size});
  const auto lat_lon = torch::stack({torch::rand({batch}) * 180 - 90, torch::rand({batch}) * 360 - 180}, 1);
  double total = 0;
  for (int s = -2; s < steps; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    model->zero_grad();
    const auto e = model->forward(images, lat_lon);
    contrastive_loss(r.loss, e.image, e.location, model->logit_scale, comm).objective.backward();
    if (s >= 0) total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  int64_t trainable = 0;
  for (const auto& p : model->parameters()) trainable += p.requires_grad() ? p.numel() : 0;
  std::printf("%s: batch %lld, %dx%d px, %s%s, %.1f M trainable params, %d threads: %.1f ms/step, %.1f images/s\n",
              a.positional()[0].c_str(), (long long)batch, int(r.data.image_size), int(r.data.image_size),
              satclip::option_string(r.model.image_encoder).c_str(),
              r.model.freeze_image_encoder ? " (frozen)" : "", trainable / 1e6,
              torch::get_num_threads(), total / steps * 1e3, batch * steps / total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("bench_model", body, argc, argv); }
