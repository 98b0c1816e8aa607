#!/usr/bin/env bash
# The frozen-encoder feature cache on the seed recipe (recipes/toysatclip.yaml: frozen ResNet18,
# 13 bands, 224 px, batch 160, GeoCLIP + Project heads, soft CLIP loss) over synthetic 256 px
# S2-100k tiles: seconds per training epoch without the cache and with it, side by side in one
# run, plus the cache's one-time build. No validation (data.val_fraction 0); random weights (the
# speed does not depend on them). An epoch ends with a checkpoint whose write (model + AdamW
# state, ~200 MB) runs in the background during the next epoch; on a small CPU it slows a cached
# epoch's few steps noticeably, so the first epoch's wall time is shown beside the median.
#   tests/bench/bench_feature_cache.sh [BUILD_DIR] [TILES] [EPOCHS] [DEVICE]
# Defaults: build/, 480 tiles (3 steps of 160 per epoch), 3 epochs, cpu.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
tiles=${2:-480}
epochs=${3:-3}
device=${4:-cpu}
python=${SATCLIP_PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; device $device"
"$build/core/apps/satclip-synth" --count "$tiles" --size 256 --shards 1 --out "$work/tiles" >/dev/null
run() {  # run NAME [ARGS...]
  local name=$1
  shift
  "$build/core/apps/satclip-ddp" "$root/recipes/toysatclip.yaml" --set "data.path=$work/tiles" \
    --set model.image_weights= --set model.location_weights= --set data.val_fraction=0 \
    --set "train.epochs=$epochs" --set train.log_every=1 --set "run.device=$device" \
    --set "output.dir=$work/$name" "$@" > "$work/$name.log" 2>&1 || { tail -20 "$work/$name.log"; exit 1; }
}
run plain --set data.feature_cache=off
run cached --set "data.feature_cache=$work/cache"
"$python" - "$work" "$tiles" <<'PYEOF'
import json, re, statistics, sys
work, tiles = sys.argv[1], int(sys.argv[2])
def times(name):
    rows = [json.loads(l) for l in open(f"{work}/{name}/metrics.jsonl") if '"train"' in l]
    ends, steps, first, prev = {}, [], [], None
    for r in rows:
        ends[r["epoch"]] = r["time_s"]
        if prev is not None and prev["epoch"] == r["epoch"]:  # a step inside an epoch: no checkpoint in it
            steps.append(r["time_s"] - prev["time_s"])
        prev = r
    per_epoch = sum(1 for r in rows if r["epoch"] == rows[0]["epoch"])
    walls = [ends[e] - ends.get(e - 1, 0.0) for e in sorted(ends)]
    return statistics.median(steps) * per_epoch, walls, per_epoch
(plain, plain_walls, n), (cached, cached_walls, _) = times("plain"), times("cached")
build = float(re.search(r"built in ([0-9.]+) s", open(f"{work}/cached.log").read()).group(1))
fmt = lambda v: " / ".join(f"{x:.2f}" for x in v)
print(f"{tiles} tiles of 12 x 256 x 256 -> 224 px, batch 160, {n} steps per epoch")
print("| | s per epoch: median step x steps | tiles/s | each epoch's wall time |")
print("|---|---|---|---|")
print(f"| without the cache | {plain:.2f} | {tiles / plain:.0f} | {fmt(plain_walls)} |")
print(f"| with the cache | {cached:.3f} | {tiles / cached:.0f} | {fmt(cached_walls)} |")
print(f"| with the cache, first epoch + one-time build | {build + cached_walls[0]:.2f} | | |")
print(f"cache build {build:.2f} s ({tiles / build:.0f} tiles/s)")
print(f"a cached epoch is {plain / cached:.1f}x faster (median steps); the first cached epoch, before any "
      f"epoch-end checkpoint is being written in the background, {plain / cached_walls[0]:.1f}x")
PYEOF
