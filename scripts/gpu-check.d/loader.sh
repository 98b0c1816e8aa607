# gpu-check part "loader", sourced by scripts/gpu-check.sh (uses its build, logs, say, cache_synth).
# Why `bench_loader shards` reported about half the tiles/s the trainer drew from the same loader:
# the same shards (SATCLIP_LOADER_TILES, default 4800, tiles of 224 px, in the page cache) read by bench_loader right after they
# were written (as the e2e part did), with pageable instead of page-locked buffers, after `sync`,
# and after a training run; and the trainer itself (seed recipe, bf16, CUDA graphs, no feature
# cache), whose step-time lines now say how long its loader threads take per batch and how much
# of their time they wait for a free slot, as bench_loader does: the two per-batch figures side
# by side show whether the bench's threads read slower or merely wait. Two more suspects: the
# short window (about 1.5 s: the bench used to time from epoch 2, and a page-locked buffer still
# allocated inside it weighs; it now warms up until an epoch allocates none, and both summaries
# count new buffers), against 20 epochs; and the in-order ring, whose prefetch of workers + 2
# lets a worker that finished early wait for a slower one (a bench consumer takes every batch at
# once, so all threads build in lock-step), against twice the prefetch.
loader_part() {
  local t0=$(date +%s) n=${SATCLIP_LOADER_TILES:-4800} w=$(( $(nproc) - 1 ))
  local syn=$build/synthetic-224-$n
  [ $w -gt 16 ] && w=16
  cache_synth "$syn" "$n" 224 8 || return 1
  # bl WORKERS EPOCHS [bench_loader options...]
  bl() { "$build/tests/bench/bench_loader" shards "$syn" --workers "$1" --batch 160 --epochs "$2" "${@:3}" 2>&1 | tail -n 1; }
  say "loader alone, just written: $(bl $w 5)"
  say "loader alone, pageable buffers: $(bl $w 5 --pinned off)"
  sync
  sleep 5
  say "loader alone, after sync: $(bl $w 5)"
  say "loader alone, 20 epochs: $(bl $w 20)"
  say "loader alone, prefetch $((2 * w)): $(bl $w 5 --prefetch $((2 * w)))"
  say "loader alone, one thread: $(bl 1 5)"
  local dir=$build/loader-e2e
  rm -rf "$dir"
  if timeout 180 "$build/core/apps/satclip-ddp" "$root/recipes/toysatclip.yaml" "${no_weights[@]}" \
       --set "data.path=$syn" --set data.feature_cache=off --set data.val_fraction=0 --set "output.dir=$dir" \
       --set run.device=$device --set train.precision=bf16 --set train.cuda_graphs=true \
       --set train.max_steps=150 --set train.epochs=1000 --set train.log_every=30 --set checkpoint.every_steps=0 \
       --set checkpoint.every_epochs=0 > "$logs/loader-e2e.log" 2>&1; then
    grep "time per step" "$logs/loader-e2e.log" | tail -n 2 | sed 's/^.*time per step/trainer: time per step/' | tee -a "$summary"
    "$python" - "$dir/metrics.jsonl" <<'PYEOF' 2>&1 | tee -a "$summary"
import json, sys
t = {j["step"]: j["time_s"] for j in map(json.loads, open(sys.argv[1])) if j.get("event") == "train"}
print(f"trainer: steps 31-150 {120 * 160 / (t[150] - t[30]):.0f} tiles/s" if 30 in t and 150 in t else "trainer: no steps 30/150")
PYEOF
  else
    say "loader e2e: FAILED"; tail -n 15 "$logs/loader-e2e.log" | tee -a "$summary"; status=1
  fi
  say "loader alone, after the trainer: $(bl $w 5)"
  say "loader: $(( $(date +%s) - t0 )) s"
}
