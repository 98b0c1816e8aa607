"""PyTorch eager baseline for bench_model: the seed model built from timm + geoclip
(tests/reference/seed_model.py), forward + soft-target loss + backward on the CPU.
    python bench_model_pytorch.py --batch 64 --size 224 [--frozen] [--steps 5] [--dim 1024]"""
import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
from seed_model import SatCLIP, seed_step_loss  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=64)
p.add_argument("--size", type=int, default=224)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--dim", type=int, default=1024)
p.add_argument("--frozen", action="store_true")
a = p.parse_args()
torch.manual_seed(0)
model = SatCLIP(dim=a.dim).train()
if a.frozen:
    model.image_encoder.requires_grad_(False)
    model.image_encoder.eval()
for prm in model.location_encoder.parameters():
    prm.requires_grad_(True)
images = torch.rand(a.batch, 13, a.size, a.size)
ll = torch.stack([torch.rand(a.batch) * 180 - 90, torch.rand(a.batch) * 360 - 180], 1)
total = 0.0
for s in range(-2, a.steps):
    t0 = time.perf_counter()
    model.zero_grad()
    seed_step_loss(model, images, ll, a.frozen).backward()
    if s >= 0:
        total += time.perf_counter() - t0
print(f"pytorch {torch.__version__}: batch {a.batch}, {a.size}x{a.size} px, resnet18{' (frozen)' if a.frozen else ''}, "
      f"{torch.get_num_threads()} threads: {total / a.steps * 1e3:.1f} ms/step, {a.batch * a.steps / total:.1f} images/s")
