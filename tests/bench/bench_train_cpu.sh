#!/usr/bin/env bash
# Weak scaling of the trainer on this machine: the quickstart model (ResNet18 trainable, 32 px,
# GeoCLIP, dim 128, InfoNCE) with 32 samples per rank, at np 1 and np 2 (one thread per rank), and
# where a step's time goes (data wait, forward, gather + loss, backward + reduce, optimizer).
# Figures from steps 21-40 (warm), median over ROUNDS alternating rounds (default 3); the
# validation at the end is not counted.
#   tests/bench/bench_train_cpu.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
rounds=${2:-3}
out=$(mktemp -d)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for r in $(seq "$rounds"); do
  for np in 1 2; do
    mpirun -n "$np" --oversubscribe "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" \
      --set "output.dir=$out/np$np-$r" --set train.max_steps=40 --set train.log_every=20 \
      --set train.val_every_epochs=1000 > "$out/np$np-$r.log" 2>&1
    grep '"event":"train".*"step":40,' "$out/np$np-$r/metrics.jsonl" |
      sed -E 's/.*"img_per_s":([0-9.]+).*/\1/' >> "$out/rate$np"
    grep 'time per step' "$out/np$np-$r.log" | tail -n 1 | sed 's/.*time per step: //' >> "$out/phases$np"
  done
done
for np in 1 2; do
  echo "np $np (global batch $((32 * np))): median $(median < "$out/rate$np") img/s over $rounds rounds ($(xargs < "$out/rate$np"))"
  echo "    per step, last round: $(tail -n 1 "$out/phases$np")"
done
r1=$(median < "$out/rate1"); r2=$(median < "$out/rate2")
echo "weak-scaling efficiency np 2 vs np 1: $(echo "scale=3; $r2 / (2 * $r1)" | bc)"
rm -rf "$out"
