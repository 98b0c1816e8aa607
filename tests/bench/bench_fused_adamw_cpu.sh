#!/usr/bin/env bash
# libtorch's AdamW against ATen's fused AdamW (optim.fused off / on) in the trainer on this
# machine: the quickstart model (ResNet18 trained from scratch, 24 M parameters), one rank, one
# thread, 32 samples per step. Figures from steps 21-40 (warm), median over ROUNDS alternating
# rounds (default 3): img/s and the optimizer's ms per step from the trainer's phase timer.
#   tests/bench/bench_fused_adamw_cpu.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
rounds=${2:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
export OMP_NUM_THREADS=1
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for r in $(seq "$rounds"); do
  for fused in off on; do
    "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" --set "output.dir=$out/$fused-$r" \
      --set optim.fused=$fused --set train.max_steps=40 --set train.log_every=20 \
      --set train.val_every_epochs=1000 --set checkpoint.every_steps=0 > "$out/$fused-$r.log" 2>&1
    grep '"event":"train".*"step":40,' "$out/$fused-$r/metrics.jsonl" |
      sed -E 's/.*"img_per_s":([0-9.]+).*/\1/' >> "$out/rate-$fused"
    grep 'time per step' "$out/$fused-$r.log" | tail -n 1 |
      sed -E 's/.*optimizer [0-9]+% \(([0-9.]+) ms\/step\).*/\1/' >> "$out/opt-$fused"
  done
done
for fused in off on; do
  echo "optim.fused=$fused: median $(median < "$out/rate-$fused") img/s ($(xargs < "$out/rate-$fused")), optimizer" \
       "$(median < "$out/opt-$fused") ms/step ($(xargs < "$out/opt-$fused"))"
done
