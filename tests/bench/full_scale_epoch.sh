#!/usr/bin/env bash
# One training epoch of the seed recipe (recipes/toysatclip.yaml: frozen ResNet18, 13 bands,
# 224 px, batch 160, validation 10 %, GeoCLIP + Project heads) with the feature cache, on a packed
# full-size S2-100k (tests/bench/full_scale_pack.sh with PARTS=1 leaves one in WORK/out). Random
# weights: the speed does not depend on them. Prints markdown: the tiles read from disk first
# (bench_loader cold: every shard's cached pages dropped), then where the epoch's time goes
# (cache build, training steps, validation, checkpoint), the wall time and peak memory.
#   tests/bench/full_scale_epoch.sh [BUILD_DIR]
#   env: DATA (the shard folder; default /tmp/satclip-full-scale/out), RUN (the run folder;
#        default DATA/../epoch; removed first), DEVICE (cpu)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${SATCLIP_BUILD_DIR:-$root/build}}
data=${DATA:-/tmp/satclip-full-scale/out}
run=${RUN:-$(dirname "$data")/epoch}
device=${DEVICE:-cpu}
python=${SATCLIP_PYTHON:-$root/.venv/bin/python}
[ -f "$data/manifest.json" ] || { echo "no packed dataset in $data (run tests/bench/full_scale_pack.sh with PARTS=1)" >&2; exit 2; }
rm -rf "$run"
mkdir -p "$run"
echo "*$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB RAM;" \
     "$(date -u +%F); commit $(git -C "$root" rev-parse --short HEAD); tests/bench/full_scale_epoch.sh*"
echo
echo "- data: $data, $(du -sb "$data" | cut -f1) bytes"
echo "- from disk: $("$build/tests/bench/bench_loader" cold "$data" | grep '^cold')"
/usr/bin/time -f "%M %e" -o "$run/time" "$build/core/apps/satclip-ddp" "$root/recipes/toysatclip.yaml" \
  --set "data.path=$data" --set model.image_weights= --set model.location_weights= \
  --set train.epochs=1 --set "run.device=$device" --set "output.dir=$run/out" \
  --set "data.feature_cache=$run/cache" > "$run/log.txt" 2>&1 || { tail -20 "$run/log.txt"; exit 1; }
"$python" - "$run" <<'PYEOF'
import datetime, json, re, sys
run = sys.argv[1]
log = open(f"{run}/log.txt").read()
rss_kb, wall = open(f"{run}/time").read().split()
def at(pattern, last=False):
    hits = re.findall(r"^\[(\d\d:\d\d:\d\d\.\d+)\] \[\w+\] " + pattern, log, re.M)
    if not hits:
        sys.exit(f"no log line matches {pattern!r} in {run}/log.txt")
    return datetime.datetime.strptime(hits[-1 if last else 0], "%H:%M:%S.%f")
def secs(a, b):
    return (b - a).total_seconds() % 86400
tiles = int(re.search(r"feature cache \S+: (\d+) tiles x", log).group(1))
build = float(re.search(r"built in ([0-9.]+) s", log).group(1))
split = re.search(r"(\d+) train, (\d+) validation", log)
steps = re.search(r"(\d+) steps per epoch", log).group(1)
split_line = re.search(r"time per step: (.*)", log).group(1)
t_build, t_first = at("building the feature cache"), at("training from the feature cache")
t_steps = at(rf"epoch 1 step {steps}/{steps}:")
t_val, t_ckpt = at("validation after"), at("checkpoint .* written")
rows = [
    ("feature cache build: read, decode, transform and encode every tile once",
     build, f"{tiles} tiles, {tiles / build:.1f} tiles/s"),
    ("training steps from the cache", secs(t_first, t_steps),
     f"{split.group(1)} tiles, {steps} steps of 160 ({split_line})"),
    ("validation", secs(t_steps, t_val), f"{split.group(2)} tiles"),
    ("checkpoint", secs(t_val, t_ckpt), ""),
]
print()
print("| part | s | |")
print("|---|---:|---|")
for name, s, what in rows:
    print(f"| {name} | {s:.1f} | {what} |")
print(f"| **whole run** (start-up included) | **{float(wall):.1f}** | peak memory {int(rss_kb) // 1024} MB |")
PYEOF
