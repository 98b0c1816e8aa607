// Benchmark: the trainer's model step (forward, loss, backward, gradient norm, AdamW update) on
// synthetic device tensors, one process: the same functions satclip-ddp runs per step
// (core/train/step_compute.h, step_graph.h), without the loader.
//   bench_train RECIPE.yaml [--device cuda|cpu] [--batch B] [--steps N] [--warmup W] [--encode] [--set key=value]...
// The recipe gives the model, loss, optimizer groups and train.precision / channels_last /
// cuda_graphs / allow_tf32 / deterministic. Prints ms/step and images/s (mean over N steps after W warm-up steps,
// the device synchronised around the timed loop), and one JSON line (RESULT {...}) for scripts.
// tests/bench/bench_train_pytorch.py is the same step in eager PyTorch. --encode times the image
// encoder's forward pass alone instead (eval mode, no grad, bf16 autocast with train.precision:
// bf16), as the feature cache's build and satclip-embed run it: the rate their passes approach.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "core/apps/cli.h"
#include "core/infer/autocast.h"
#include "core/recipe/config.h"
#include "core/train/step_compute.h"
#include "core/train/step_graph.h"
#include "distributed/local_communicator.h"

using namespace satclip::core;

namespace {

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

// --encode: the image encoder's forward pass alone, as the feature cache's build runs it.
int encode(SatClip& model, const torch::Tensor& images, bool bf16, int steps, int warmup, const Recipe& r,
           const std::string& recipe) {
  model->eval();
  torch::NoGradGuard no_grad;
  const AutocastScope autocast(bf16);
  const auto device = images.device();
  double seconds = 0;
  for (int s = -warmup; s < steps; ++s) {
    if (s == 0) sync(device);
    const auto t0 = std::chrono::steady_clock::now();
    model->image_features(images).to(torch::kFloat);
    if (s == steps - 1) sync(device);
    if (s >= 0) seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const int64_t batch = images.size(0);
  const double ms = seconds / steps * 1e3, img_s = double(batch) * steps / seconds;
  std::printf("bench_train %s --encode: %s, batch %lld, %lldx%lld px, %s, %s: %.2f ms per batch, %.0f images/s\n",
              recipe.c_str(), device.str().c_str(), (long long)batch, (long long)images.size(2),
              (long long)images.size(3), satclip::option_string(r.model.image_encoder).c_str(), bf16 ? "bf16" : "fp32",
              ms, img_s);
  std::printf("RESULT {\"impl\":\"encode\",\"encoder\":\"%s\",\"batch\":%lld,\"precision\":\"%s\","
              "\"ms_per_batch\":%.3f,\"img_per_s\":%.1f}\n",
              satclip::option_string(r.model.image_encoder).c_str(), (long long)batch, bf16 ? "bf16" : "fp32", ms, img_s);
  return 0;
}

int body(int argc, char** argv) {
  const auto overrides = satclip::cli::take_overrides(argc, argv);  // --set may repeat
  satclip::cli::Args a(argc, argv, {"device", "batch", "steps", "warmup"}, {"encode"});
  if (a.help() || a.positional().size() != 1) {
    std::puts("usage: bench_train RECIPE.yaml [--device cuda|cpu] [--batch B] [--steps N] [--warmup W] [--encode] "
              "[--set key=value]...");
    return a.help() ? 0 : 2;
  }
  const Recipe r = load_recipe(a.positional()[0], overrides);
  const torch::Device device(a.str("device", torch::cuda::is_available() ? "cuda" : "cpu"));
  const int64_t batch = a.integer("batch", r.data.batch_size, 2, 8192);
  const int steps = static_cast<int>(a.integer("steps", 20, 1, 100000));
  const int warmup = static_cast<int>(a.integer("warmup", 5, 1, 1000));
  configure_device_math(r.train, device);
  torch::manual_seed(0);
  SatClip model(r.model, r.loss);
  model->to(device);
  const bool channels_last = wants_channels_last(r.train, device, r.data.image_size);
  if (channels_last) model->use_channels_last();
  const auto groups = make_param_groups(model, r.optim, r.loss);
  const auto optimizer = make_optimizer(groups, r.optim, device);
  StepCompute how;
  how.loss = r.loss;
  how.bf16 = r.train.precision == satclip::Precision::kBf16 && device.is_cuda();
  std::unique_ptr<StepGraph> graph;
  if (r.train.cuda_graphs && device.is_cuda()) graph = std::make_unique<StepGraph>(model, groups, how);
  satclip::dist::LocalCommunicator comm;

  const auto opts = torch::TensorOptions().device(device);
  // Images in the layout the trainer's transforms hand a channels-last model (and the PyTorch twin's).
  const auto format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  const auto images = torch::rand({batch, r.model.in_bands, r.data.image_size, r.data.image_size}, opts);
  const StepInputs in{images.contiguous(format), {},
                      torch::stack({torch::rand({batch}, opts) * 180 - 90, torch::rand({batch}, opts) * 360 - 180}, 1)};
  if (a.has("encode")) return encode(model, in.images, how.bf16, steps, warmup, r, a.positional()[0]);
  double seconds = 0, last_loss = 0;
  for (int s = -warmup; s < steps; ++s) {
    if (s == 0) sync(device);
    const auto t0 = std::chrono::steady_clock::now();
    optimizer->zero_grad();
    torch::Tensor objective, sq;
    if (graph) {
      std::tie(objective, sq) = graph->run(in);
    } else {
      objective = forward_backward(model, in, comm, how);
      sq = grad_sq_norm(groups);
    }
    // As in the trainer with train.host_sync: step (and the PyTorch twin): the loss and gradient
    // norm reach the host once per step.
    const auto host = torch::stack({objective.to(torch::kDouble), sq.to(device)}).to(torch::kCPU);
    last_loss = host[0].item<double>();
    apply_update(model, *optimizer, groups, r.optim.clip_norm, sq, 1.0);
    if (s == steps - 1) sync(device);
    if (s >= 0) seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  int64_t trainable = 0;
  for (const auto& g : groups) trainable += g.numel();
  const double ms = seconds / steps * 1e3, img_s = double(batch) * steps / seconds;
  std::printf("bench_train %s: %s, batch %lld, %dx%d px, %s%s, %s, channels_last %s, cuda_graphs %s, "
              "%.1f M trainable%s: %.2f ms/step, %.0f images/s (loss %.4f)\n",
              a.positional()[0].c_str(), device.str().c_str(), (long long)batch, int(r.data.image_size),
              int(r.data.image_size), satclip::option_string(r.model.image_encoder).c_str(),
              r.model.freeze_image_encoder ? " (frozen)" : "",
              how.bf16 ? "bf16" : "fp32", channels_last ? "on" : "off", graph ? "on" : "off", trainable / 1e6,
              r.train.deterministic ? ", deterministic" : "", ms, img_s, last_loss);
  std::printf("RESULT {\"impl\":\"cpp\",\"encoder\":\"%s\",\"batch\":%lld,\"frozen\":%s,\"precision\":\"%s\","
              "\"cuda_graphs\":%s,\"channels_last\":%s,\"deterministic\":%s,\"ms_per_step\":%.3f,\"img_per_s\":%.1f}\n",
              satclip::option_string(r.model.image_encoder).c_str(), (long long)batch,
              r.model.freeze_image_encoder ? "true" : "false", how.bf16 ? "bf16" : "fp32", graph ? "true" : "false",
              channels_last ? "true" : "false", r.train.deterministic ? "true" : "false", ms, img_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return satclip::cli::run_cli("bench_train", body, argc, argv); }
