#!/usr/bin/env bash
# satclip-eval's cost on one encoder, side by side in one run: SatCLIP's notebook probe
# (--only probe: air temperature, an MLP trained 3,000 full-batch epochs per seed, 3 seeds, with
# the raw coordinates beside it) against the default probe benchmark (--only tasks: 4 tasks x
# mlp, linear, knn x random and spatial splits x 3 seeds) on the encoder alone, and the full
# default run (map + benchmark) with the raw and sincos baselines. Wall seconds per run.
#   tests/bench/bench_eval.sh [BUILD_DIR] [CHECKPOINT]
# Defaults: build/, GeoCLIP's pretrained location encoder in the seed format (written by
# tests/reference/eval_models.py into a temporary folder).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
python=${SATCLIP_PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checkpoint=${2:-}
if [ -z "$checkpoint" ]; then
  "$python" "$root/tests/reference/eval_models.py" "$work/models" > /dev/null
  checkpoint=$work/models/geoclip_seed.pt
fi
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(date -u +%F); commit $(git -C "$root" rev-parse --short HEAD)"
run() {  # run NAME DESCRIPTION ARGS...
  local name=$1 what=$2
  shift 2
  local start=$SECONDS
  "$build/core/apps/satclip-eval" --device cpu --checkpoint "$checkpoint" --out "$work/$name" "$@" > "$work/$name.log" 2>&1 ||
    { tail -20 "$work/$name.log"; exit 1; }
  printf '| %s | %s | %d |\n' "$name" "$what" $((SECONDS - start))
}
echo "| run | what | wall s |"
echo "|---|---|---:|"
run notebook-probe "air temperature, MLP 3000 full-batch epochs x 3 seeds, embedding + raw" --only probe
run benchmark "4 tasks x 3 probes x 2 splits x 3 seeds, the encoder alone" --only tasks --baselines ''
run default "map + the benchmark with the raw and sincos baselines" --baselines raw,sincos
