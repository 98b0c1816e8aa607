"""Eager-PyTorch twin of bench_train: the seed model from independent libraries (timm's resnet18
with 13 bands, geoclip's LocationEncoder, the seed's Project heads and soft-target loss, in
tests/reference/seed_model.py) and torch.optim.AdamW with the seed's groups, on synthetic tensors
on the GPU. PyTorch's best practice for speed: channels_last image encoder and input,
cudnn.benchmark, bf16 autocast where asked; the frozen encoder runs under no_grad in eval mode.

    python bench_train_pytorch.py --config seed-fp32 [--config full-bf16 ...] [--steps 20] [--warmup 5]
        [--encoder resnet18|vit_s16] [--compile MODE] [--optimizer foreach|fused]

seed-*: frozen image encoder, batch 160; full-*: everything trainable, batch 256 (--batch overrides).
--encoder vit_s16: timm's vit_small_patch16_224 with 13 bands (SatCLIP's ViT16 backbone) instead of
ResNet18, its 384 features into the image head. --compile MODE: torch.compile (inductor) of the
forward pass and loss, with the backward it derives, in that mode ("max-autotune" also replays
CUDA graphs); the warm-up steps then include the compilation, whose time is printed
(compile_s). Each step ends, as in satclip-ddp, by reading the loss on the host. Prints one RESULT
line per config."""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import timm  # noqa: E402
from seed_model import Project, SatCLIP, seed_step_loss  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--config", action="append", required=True,
               choices=["seed-fp32", "seed-bf16", "full-fp32", "full-bf16"])
p.add_argument("--batch", type=int, default=0)
p.add_argument("--size", type=int, default=224)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--optimizer", choices=["foreach", "fused"], default="foreach",
               help="torch.optim.AdamW's implementation (foreach is its CUDA default)")
p.add_argument("--encoder", choices=["resnet18", "vit_s16"], default="resnet18")
p.add_argument("--compile", default="none",
               choices=["none", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"])
a = p.parse_args()
torch.backends.cudnn.benchmark = True
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def run(config):
    frozen = config.startswith("seed")
    bf16 = config.endswith("bf16") and dev.type == "cuda"
    batch = a.batch or (160 if frozen else 256)
    torch.manual_seed(0)
    model = SatCLIP(dim=1024, dropout=0.1)
    if a.encoder == "vit_s16":
        model.image_encoder.visual = timm.create_model("vit_small_patch16_224", in_chans=13, num_classes=0)
        model.image_projection = Project(model.image_encoder.visual.num_features, 1024, 0.1)
    model = model.to(dev).train()
    model.image_encoder.to(memory_format=torch.channels_last)
    for prm in model.location_encoder.parameters():
        prm.requires_grad_(True)  # the seed trains GeoCLIP's random Fourier matrices too
    if frozen:
        model.image_encoder.requires_grad_(False)
        model.image_encoder.eval()
    proj = list(model.image_projection.parameters()) + list(model.loc_projection.parameters())
    groups = [{"params": list(model.location_encoder.parameters()), "lr": 1e-5, "weight_decay": 0.0},
              {"params": proj, "lr": 1e-3, "weight_decay": 1e-3}]
    if not frozen:
        groups.append({"params": list(model.image_encoder.parameters()), "lr": 1e-5, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, **({"fused": True} if a.optimizer == "fused" else {"foreach": True}))
    images = torch.rand(batch, 13, a.size, a.size, device=dev).contiguous(memory_format=torch.channels_last)
    ll = torch.stack([torch.rand(batch, device=dev) * 180 - 90, torch.rand(batch, device=dev) * 360 - 180], 1)

    def step_loss(x, lat_lon):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            return seed_step_loss(model, x, lat_lon, frozen).float()

    if a.compile != "none":
        torch._dynamo.reset()
        step_loss = torch.compile(step_loss, mode=None if a.compile == "default" else a.compile)
    total, loss_value = 0.0, 0.0
    t_start = time.perf_counter()
    compile_s = 0.0
    for s in range(-a.warmup, a.steps):
        if s == 0:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            compile_s = time.perf_counter() - t_start
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if a.compile != "none":
            torch.compiler.cudagraph_mark_step_begin()
        loss = step_loss(images, ll)
        loss.backward()
        loss_value = loss.item()
        opt.step()
        if s == a.steps - 1 and dev.type == "cuda":
            torch.cuda.synchronize()
        if s >= 0:
            total += time.perf_counter() - t0
    ms, img_s = total / a.steps * 1e3, batch * a.steps / total
    how = "eager" if a.compile == "none" else f"torch.compile {a.compile} (warm-up with compilation {compile_s:.0f} s)"
    print(f"pytorch {torch.__version__} {config} {a.encoder} {how}: {dev}, batch {batch}, {a.size}x{a.size} px, "
          f"AdamW {a.optimizer}: {ms:.2f} ms/step, {img_s:.0f} images/s (loss {loss_value:.4f})", flush=True)
    print("RESULT " + json.dumps({"impl": "pytorch", "config": config, "batch": batch, "frozen": frozen,
                                  "encoder": a.encoder, "compile": a.compile, "compile_s": round(compile_s, 1),
                                  "precision": "bf16" if bf16 else "fp32", "optimizer": a.optimizer,
                                  "ms_per_step": round(ms, 3), "img_per_s": round(img_s, 1)}), flush=True)
    del model, opt, images
    if dev.type == "cuda":
        torch.cuda.empty_cache()


for c in a.config:
    run(c)
