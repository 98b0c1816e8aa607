#!/usr/bin/env bash
# Weak scaling of the trainer on this machine: the quickstart model (ResNet18 trainable, 32 px,
# GeoCLIP, dim 128, InfoNCE) with 32 samples per rank, at np 1 and np 2 (one thread per rank), and
# where a step's time goes (data wait, forward, gather + loss, backward + reduce, optimizer).
# Figures from steps 21-40 (warm); the validation at the end is not counted.
#   tests/bench/bench_train_cpu.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
out=$(mktemp -d)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
declare -A rate
for np in 1 2; do
  mpirun -n "$np" --oversubscribe "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" \
    --set "output.dir=$out/np$np" --set train.max_steps=40 --set train.log_every=20 \
    --set train.val_every_epochs=1000 > "$out/np$np.log" 2>&1
  line=$(grep '"event":"train".*"step":40,' "$out/np$np/metrics.jsonl")
  rate[$np]=$(sed -E 's/.*"img_per_s":([0-9.]+).*/\1/' <<<"$line")
  echo "np $np: ${rate[$np]} img/s (global batch $((32 * np))); per step: $(grep 'time per step' "$out/np$np.log" | tail -n 1 | sed 's/.*time per step: //')"
done
echo "weak-scaling efficiency np 2 vs np 1: $(echo "scale=3; ${rate[2]} / (2 * ${rate[1]})" | bc)"
rm -rf "$out"
