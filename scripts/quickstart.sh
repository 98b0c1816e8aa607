#!/usr/bin/env bash
# The README's run command: installs and builds what is missing (scripts/setup.sh), trains the
# quickstart recipe (synthetic S2-100k sample, made on first use) with `mpirun -n 2`, renders
# the metrics plot, evaluates the trained location encoder (satclip-eval: the embedding world map
# and the land_sea and countries probes, beside raw coordinates, sin/cos and the untrained
# encoder), and prints where the results are, the final metrics and the land/sea table.
#
# Environment knobs (besides those of scripts/setup.sh):
#   SATCLIP_NP       ranks (default 2)
#   SATCLIP_RUN_DIR  run directory (default <repo>/runs/quickstart)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start=$SECONDS
"$root/scripts/setup.sh"
build_dir=${SATCLIP_BUILD_DIR:-$root/build}
run_dir=${SATCLIP_RUN_DIR:-$root/runs/quickstart}
np=${SATCLIP_NP:-2}
python=$(sed -n 's/^SATCLIP_PYTHON:FILEPATH=//p' "$build_dir/CMakeCache.txt")
mpi_flags=(-n "$np")
# Open MPI refuses root unless told; more ranks than cores need oversubscription.
[ "$(id -u)" -ne 0 ] || mpi_flags+=(--allow-run-as-root)
mpi_flags+=(--oversubscribe)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
train_start=$SECONDS
echo "[quickstart] mpirun ${mpi_flags[*]} satclip-ddp recipes/quickstart.yaml --set output.dir=$run_dir"
mpirun "${mpi_flags[@]}" "$build_dir/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" \
  --set "output.dir=$run_dir"
echo "[quickstart] training took $((SECONDS - train_start)) s"
"$python" "$root/tools/plot_metrics.py" "$run_dir" || echo "[quickstart] (no plot: matplotlib missing?)"
eval_start=$SECONDS
eval_args=(--checkpoint "quickstart=$run_dir" --out "$run_dir/eval" --tasks land_sea,countries
           --baselines raw,sincos,untrained)
echo "[quickstart] satclip-eval ${eval_args[*]}"
# All cores for the probes (OMP_NUM_THREADS=1 above is for the ranks; GNU nproc would echo it).
env -u OMP_NUM_THREADS "$build_dir/core/apps/satclip-eval" "${eval_args[@]}" > "$run_dir/eval.log"
echo "[quickstart] evaluation took $((SECONDS - eval_start)) s"
echo "[quickstart] results in $run_dir:"
echo "    config.yaml  metrics.jsonl  metrics.png  log-rank*.txt  checkpoints/  tensorboard/  eval.log"
echo "    eval/map.png (the embedding map), eval/report.md (the probe tables), eval/report.json"
tail -n 1 "$run_dir/metrics.jsonl" | sed 's/^/[quickstart] last metrics: /'
# The land/sea accuracy table: the trained encoder against the untrained one and the coordinates.
awk '/^### land_sea: accuracy/ {p = 1} p {print; if (/^$/ && ++blank == 2) exit}' "$run_dir/eval/report.md" |
  sed 's/^/[quickstart] /'
echo "[quickstart] look at the pictures: xdg-open $run_dir/eval/map.png; the run: tensorboard --logdir $run_dir/tensorboard"
echo "[quickstart] done in $((SECONDS - start)) s"
