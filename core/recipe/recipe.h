// Recipe: the typed form of a recipe YAML file. Every default lives here, in these structs.
//
// Keys, types and allowed ranges are declared once in recipe_fields.cpp; config.h loads a file
// into a Recipe. Named choices are enums (core/base/options.h), parsed there once. Section and
// key names match the YAML exactly (see recipes/*.yaml).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/options.h"

namespace satclip::core {

struct RunConfig {
  std::string name = "satclip";
  int64_t seed = 0;
  std::string device = "auto";  // auto, cpu, cuda, cuda:N
  std::string log_level = "info";
};

// An integer key set to `auto` in YAML (data.workers, data.prefetch), resolved per node by
// loader_options (core/infer/data_options.h).
inline constexpr int64_t kAuto = -1;

struct DataConfig {
  std::string path;                 // required: shard directory (manifest.json) or "synthetic"
  bool verify = false;              // each shard read back in a limited child process before training
  int64_t synthetic_count = 2048;   // tiles generated when path is "synthetic"
  int64_t synthetic_size = 64;      // their size in pixels
  double val_fraction = 0.1;
  int64_t split_seed = 0;
  int64_t batch_size = 32;          // per rank (the PyTorch DDP convention)
  int64_t global_batch_size = 0;    // > 0: per-rank batch = global / world (must divide)
  int64_t workers = kAuto;   // loader threads per rank; auto: from the node's cores (auto_workers)
  int64_t prefetch = kAuto;  // batches built or waiting ahead of the step; auto: workers + 2 (auto_prefetch)
  bool drop_last = true;
  int64_t image_size = 224;
  Scaling scaling = Scaling::kDivide10000;  // divide10000 (SatCLIP) or normalize (seed: mean/std 0.5)
  BandLayout band_layout = BandLayout::kSatclip;  // satclip (zero B10 at 10), seed (B01 copy appended), none
  Crop crop = Crop::kResize;  // resize, random, center
  bool flips = true;
  double coord_jitter_deg = 0.0;
  std::string feature_cache = "off";   // off, auto (output.dir/../feature-cache) or a directory
  int64_t feature_cache_views = 1;      // augmented views per tile in the cache (random crop/flips)
};

struct ModelConfig {
  ImageEncoderKind image_encoder = ImageEncoderKind::kResnet18;
  int64_t in_bands = 13;
  std::string image_weights;               // timm/torchgeo state dict, optional
  bool freeze_image_encoder = true;
  LocationEncoderKind location_encoder = LocationEncoderKind::kGeoclip;
  std::vector<double> geoclip_sigmas = {1.0, 16.0, 256.0};
  bool train_rff = false;
  std::string location_weights;              // GeoCLIP location_encoder_weights.pth, optional
  int64_t sh_degree = 10;
  // sh_siren's spherical harmonics: closed_form (orthonormal, Condon-Shortley phase) or analytic
  // (SatCLIP's released models: no phase, pi * N P_l on m = 0); see core/model/location_encoders.h.
  Harmonics harmonics = Harmonics::kClosedForm;
  int64_t siren_hidden = 512;
  int64_t siren_layers = 2;
  // project (seed: a Project head on each encoder), linear (a Linear on each) or satclip (SatCLIP's
  // released models: a Linear on the image features, none on the location encoder, whose SIREN
  // ends in embed_dim).
  Projection projection = Projection::kProject;
  int64_t embed_dim = 1024;
  double dropout = 0.1;
  std::string weights;                       // whole-model state dict (seed satclip.pt), optional
  bool strict_weights = true;                // weights files must match the model exactly
};

struct LossConfig {
  LossKind kind = LossKind::kSoftClip;  // soft_clip (seed) or info_nce (SatCLIP)
  double temperature = 1.0;
  bool local = false;              // info_nce: local rows against all gathered columns
  double logit_scale_init = 2.6592600369327779;  // ln(1 / 0.07)
  bool gather = true;              // false: each rank's own batch as negatives (SatCLIP's multi-GPU runs)
};

struct OptimConfig {
  double lr_image = 1e-5;
  double lr_location = 1e-5;
  double lr_projection = 1e-3;
  double weight_decay = 0.0;
  double projection_weight_decay = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  Scheduler scheduler = Scheduler::kPlateau;
  int64_t plateau_patience = 1;
  double plateau_factor = 0.8;
  int64_t warmup_steps = 0;
  double clip_norm = 0.0;  // clip the global gradient norm to this; 0 = off
  Switch fused = Switch::kAuto;  // ATen's fused AdamW kernel: auto (CUDA and CPU), on, off
};

struct TrainConfig {
  int64_t epochs = 5;
  int64_t max_steps = 0;  // 0: no limit
  int64_t grad_accum = 1;
  Precision precision = Precision::kFp32;
  int64_t log_every = 10;
  int64_t val_every_epochs = 1;
  int64_t val_every_steps = 0;     // > 0: also validate every this many steps
  std::string val_gallery;         // CSV of lat,lon for retrieval; empty = the validation locations
  NonFinite nonfinite = NonFinite::kAbort;  // a NaN/Inf loss or gradient: abort (name step and tensor) or skip the step
  // When the host reads the step's loss and checks (core/train/step_checks.h): step (every step
  // waits for the device), log (only log, validation and checkpoint steps; the others never wait),
  // auto (log on CUDA with the fused AdamW, else step).
  HostSync host_sync = HostSync::kAuto;
  bool allow_tf32 = false;  // CUDA: TF32 matmuls too (cuDNN convolutions use TF32 either way, as in PyTorch)
  // Deterministic algorithms only (ATen, cuDNN without its autotuner, cuBLAS with a fixed
  // workspace): two runs, or a run and its resumption, compute the same bits on the same GPU.
  bool deterministic = false;
  Switch channels_last = Switch::kAuto;  // NHWC convolutions: auto (on CUDA), on, off
  // CUDA, one rank, no accumulation: capture forward + loss + backward once, then replay it.
  bool cuda_graphs = false;
  bool tensorboard = true;  // rank 0 also writes output.dir/tensorboard/ (core/train/runlog/tensorboard.h)
};

struct DistributedConfig {
  Backend backend = Backend::kAuto;
  double first_bucket_mb = 1.0;
  double bucket_mb = 25.0;
  double timeout_s = 600.0;
};

struct CheckpointConfig {
  int64_t every_steps = 0;   // 0: none between epoch ends
  int64_t every_epochs = 1;  // at the end of every N-th epoch; 0: none at epoch ends
  int64_t keep = 3;
};

struct OutputConfig {
  std::string dir = "runs/satclip";
};

struct Recipe {
  RunConfig run;
  DataConfig data;
  ModelConfig model;
  LossConfig loss;
  OptimConfig optim;
  TrainConfig train;
  DistributedConfig distributed;
  CheckpointConfig checkpoint;
  OutputConfig output;
  std::string source;  // the file it was loaded from ("" for defaults)
};

}  // namespace satclip::core
