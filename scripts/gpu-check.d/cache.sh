# gpu-check part "cache", sourced by scripts/gpu-check.sh (uses its build, logs, say, no_weights).
# The frozen-encoder feature cache on the GPU at S2-100k's size: SATCLIP_CACHE_TILES (default 4800)
# synthetic 256 px tiles (7.5 GB) listed SATCLIP_CACHE_REPEAT times (default 21: 100,800 tiles) by
# a shard directory of links to them (157 GB of distinct tiles would not fit the host's disk; the
# repeated files stay in the page cache, as a 100k dataset would on a host with enough memory).
# Two runs, random weights, bf16, CUDA graphs, data.val_fraction 0 (an epoch is every tile), no
# checkpoints, 4 epochs each:
#   paper  recipes/satclip.yaml, SatCLIP's recipe (ResNet18 frozen, L = 10, 256 px, flips: 4
#          cached views per tile, batch 512 x 16 accumulated);
#   seed   recipes/toysatclip.yaml (224 px resize, no augmentation: one feature per tile).
# For each: the build (read, transform, encode every tile once per view) against the encoder's
# forward pass alone (bench_train --encode at the build's chunk of 64 and at 160, 224 px), each
# cached epoch's time (metrics.jsonl), and the projection of 500 epochs at 100,000 tiles:
# build + 500 cached epochs.
cache_synth() {  # dir, count, size, shards: written once per job
  [ -f "$1/manifest.json" ] && return 0
  local t0=$(date +%s)
  rm -rf "$1"
  if timeout 300 "$build/core/apps/satclip-synth" --count "$2" --size "$3" --shards "$4" --out "$1" \
       > "$logs/synth-$(basename "$1").log" 2>&1; then
    say "synthetic shards: $2 tiles of $3 px, $(du -sh "$1" | cut -f1), written in $(( $(date +%s) - t0 )) s"
  else
    say "satclip-synth $2 x $3 px: FAILED"; tail -n 10 "$logs/synth-$(basename "$1").log" | tee -a "$summary"; status=1
    return 1
  fi
}

# repeat_shards SRC DST K: DST lists SRC's shards K times, as links (tile names repeat).
repeat_shards() {
  "$python" - "$1" "$2" "$3" <<'PYEOF'
import json, os, sys
src, dst, k = os.path.abspath(sys.argv[1]), sys.argv[2], int(sys.argv[3])
m = json.load(open(os.path.join(src, "manifest.json")))
os.makedirs(dst, exist_ok=True)
shards = []
for r in range(k):
    for s in m["shards"]:
        name = f"r{r:02d}-{s['file']}"
        link = os.path.join(dst, name)
        if not os.path.lexists(link):
            os.symlink(os.path.join(src, s["file"]), link)
        shards.append({"file": name, "count": s["count"]})
m["shards"], m["count"] = shards, sum(s["count"] for s in shards)
json.dump(m, open(os.path.join(dst, "manifest.json"), "w"), indent=2)
print(m["count"])
PYEOF
}

# cache_run NAME RECIPE TILES [ARGS...]: one run on the repeated shards; prints its figures.
cache_run() {
  local name=$1 recipe=$2 tiles=$3
  shift 3
  local dir=$build/cache-$name
  rm -rf "$dir" "$build/feature-cache-$name"
  if ! timeout 420 "$build/core/apps/satclip-ddp" "$recipe" "${no_weights[@]}" \
       --set "data.path=$build/s2-100k-view" --set "data.feature_cache=$build/feature-cache-$name" \
       --set data.val_fraction=0 --set "output.dir=$dir" --set run.device=$device --set train.precision=bf16 \
       --set train.cuda_graphs=true --set train.epochs=4 --set train.log_every=1 --set checkpoint.every_steps=0 \
       --set checkpoint.every_epochs=0 "$@" > "$logs/cache-$name.log" 2>&1; then
    say "cache $name: FAILED"; tail -n 20 "$logs/cache-$name.log" | tee -a "$summary"; status=1
    return 1
  fi
  say "cache $name: $(grep -o 'feature cache .* built in .*' "$logs/cache-$name.log" | tail -n 1)"
  grep -E "feature cache: .*tiles/s|time per step" "$logs/cache-$name.log" | tail -n 2 | tee -a "$summary"
  "$python" - "$dir/metrics.jsonl" "$logs/cache-$name.log" "$tiles" "$name" <<'PYEOF' 2>&1 | tee -a "$summary"
import json, re, sys
tiles, name = int(sys.argv[3]), sys.argv[4]
end = {}  # epoch -> time of its last logged step
for j in map(json.loads, open(sys.argv[1])):
    if j.get("event") == "train":
        end[j["epoch"]] = max(end.get(j["epoch"], 0.0), j["time_s"])
epochs = [end[e] - end[e - 1] for e in sorted(end) if e - 1 in end]
print(f"cache {name}: cached epochs of {tiles:,} tiles, epochs 2-{len(epochs) + 1}: " + ", ".join(f"{e:.2f} s" for e in epochs))
built = re.findall(r"built in ([0-9.]+) s", open(sys.argv[2]).read())
if epochs and built:
    build = float(built[-1]) * 100000 / tiles
    per = sum(epochs) / len(epochs) * 100000 / tiles
    print(f"cache {name}: projection for 100,000 tiles and 500 epochs: build {build:.0f} s ({tiles / float(built[-1]):.0f} "
          f"tiles/s) + 500 x {per:.2f} s = {build + 500 * per:.0f} s ({(build + 500 * per) / 60:.1f} min)")
PYEOF
}

cache_part() {
  local t0=$(date +%s) n=${SATCLIP_CACHE_TILES:-4800} k=${SATCLIP_CACHE_REPEAT:-21} b tiles
  local syn=$build/synthetic-256-$n
  for b in 64 160; do
    timeout 120 "$build/tests/bench/bench_train" "$root/recipes/toysatclip.yaml" "${no_weights[@]}" --encode \
      --set train.precision=bf16 --batch $b --steps 30 --warmup 10 >> "$bench" 2>&1
    grep "^bench_train .*--encode" "$bench" | tail -n 1 | tee -a "$summary"
  done
  cache_synth "$syn" "$n" 256 16 || return 1
  rm -rf "$build/s2-100k-view"
  tiles=$(repeat_shards "$syn" "$build/s2-100k-view" "$k") || { say "cache: repeat_shards FAILED"; status=1; return 1; }
  cache_run paper "$root/recipes/satclip.yaml" "$tiles" --set data.feature_cache_views=4
  cache_run seed "$root/recipes/toysatclip.yaml" "$tiles"
  say "cache: $(( $(date +%s) - t0 )) s"
}
