#!/usr/bin/env bash
# The frozen-encoder feature cache (data.feature_cache), on the parity recipe (frozen ResNet18,
# no augmentation, fp32) with the seed's dropout 0.1, 20 steps and a validation at the end:
#   feature_cache.sh same_loss       (a) cached and uncached runs: the same loss at every step
#                                        (relative <= 1e-5) and the same validation metrics
#   feature_cache.sh np2_identical   (b) the cache built at np 2 is byte-identical to np 1's
#   feature_cache.sh invalidate      (c) another image-transform key or other encoder weights:
#                                        rebuilt, the log line naming the key
#   feature_cache.sh damaged         (d) a truncated features.h5 (and a half-built directory
#                                        beside it) is detected and rebuilt to the same bytes
#   feature_cache.sh refused         (e) a trainable image encoder, random augmentation with one
#                                        view, and several views of deterministic transforms are
#                                        clear errors
#   feature_cache.sh views           random crops + flips with 4 cached views train, and the views
#                                        differ
#   feature_cache.sh stop            SIGUSR1 to rank 0 (np 2) while the cache is built: both ranks
#                                        stop within a chunk with exit status 75, nothing written
#   feature_cache.sh full_disk       the cache folder on a 1 MiB tmpfs (np 2; root only, else
#                                        skipped): a warning naming it and the cause, no partial
#                                        folder, and training goes on with the same losses
# Environment from ctest: DDP, MPIEXEC, PY, RECIPE (parity.yaml), COMPARE, WORK.
set -u
fail() { echo "FAIL: $*"; exit 1; }
: "${DDP:?}" "${MPIEXEC:?}" "${PY:?}" "${RECIPE:?}" "${COMPARE:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK"
source "$(dirname "${BASH_SOURCE[0]}")/../support/tidy_on_success.sh"

# run NAME NP [ARGS...]: satclip-ddp into WORK/NAME (log WORK/NAME.log), 20 steps, dropout 0.1.
run() {
  local name=$1 np=$2
  shift 2
  timeout 300 "$MPIEXEC" -n "$np" "$DDP" "$RECIPE" --set "output.dir=$WORK/$name" --set model.dropout=0.1 "$@" \
    >"$WORK/$name.log" 2>&1 || { tail -20 "$WORK/$name.log"; fail "run $name failed"; }
}
expect_log() { grep -q -- "$2" "$WORK/$1.log" || { grep -i cache "$WORK/$1.log"; fail "$1.log lacks: $2"; }; }

case "${1:?mode}" in
  same_loss)
    run plain 1
    run cached 1 --set "data.feature_cache=$WORK/cache"
    expect_log cached "building the feature cache in $WORK/cache: no cache"
    expect_log cached "training from the feature cache"
    "$PY" $COMPARE same-loss "$WORK/cached" "$WORK/plain" 1e-5 || fail "losses differ"
    "$PY" $COMPARE same-val "$WORK/cached" "$WORK/plain" 1e-5 || fail "validation differs"
    run reused 1 --set "data.feature_cache=$WORK/cache"
    expect_log reused "feature cache $WORK/cache: 800 tiles x 512 features (reused)"
    "$PY" $COMPARE same-loss "$WORK/reused" "$WORK/plain" 1e-5 >/dev/null || fail "losses differ on reuse"
    ;;
  np2_identical)
    run one 1 --set "data.feature_cache=$WORK/cache1" --set train.max_steps=1
    run two 2 --set "data.feature_cache=$WORK/cache2" --set train.max_steps=1
    cmp "$WORK/cache1/features.h5" "$WORK/cache2/features.h5" || fail "np 1 and np 2 caches differ"
    cmp "$WORK/cache1/cache.yaml" "$WORK/cache2/cache.yaml" || fail "np 1 and np 2 cache.yaml differ"
    ;;
  invalidate)
    run first 1 --set "data.feature_cache=$WORK/cache" --set train.max_steps=1
    run size 1 --set "data.feature_cache=$WORK/cache" --set train.max_steps=1 --set data.image_size=24
    expect_log size "it was built for other settings (data.image_size: 16 -> 24)"
    run scaling 1 --set "data.feature_cache=$WORK/cache" --set train.max_steps=1 --set data.image_size=24 \
      --set data.scaling=normalize
    expect_log scaling "(data.scaling: divide10000 -> normalize)"
    # Other encoder weights: run.seed initialises the (untrained) image encoder.
    run weights 1 --set "data.feature_cache=$WORK/cache" --set train.max_steps=1 --set data.image_size=24 \
      --set data.scaling=normalize --set run.seed=4
    expect_log weights "(image_encoder_weights: "
    ;;
  damaged)
    run first 1 --set "data.feature_cache=$WORK/cache" --set train.max_steps=1
    cp "$WORK/cache/features.h5" "$WORK/good.h5"
    truncate -s $(($(stat -c %s "$WORK/good.h5") / 2)) "$WORK/cache/features.h5"
    mkdir -p "$WORK/cache.partial-999999" && echo junk > "$WORK/cache.partial-999999/features.h5"
    run second 1 --set "data.feature_cache=$WORK/cache" --set train.max_steps=1
    expect_log second "features.h5 is damaged or incomplete"
    cmp "$WORK/good.h5" "$WORK/cache/features.h5" || fail "the rebuilt cache differs from the first"
    rm -f "$WORK/cache/cache.yaml"  # a cache without its cache.yaml is not a cache
    run third 1 --set "data.feature_cache=$WORK/cache" --set train.max_steps=1
    expect_log third "building the feature cache in $WORK/cache: no cache"
    ;;
  refused)
    "$DDP" "$RECIPE" --dry-run --set "output.dir=$WORK/x" --set data.feature_cache=auto \
      --set model.freeze_image_encoder=false >"$WORK/trainable.log" 2>&1 && fail "a trainable encoder was accepted"
    expect_log trainable "needs a frozen image encoder, but model.freeze_image_encoder is false"
    "$DDP" "$RECIPE" --dry-run --set "output.dir=$WORK/x" --set data.feature_cache=auto \
      --set data.flips=true >"$WORK/one_view.log" 2>&1 && fail "random flips with one cached view were accepted"
    expect_log one_view "needs data.feature_cache_views >= 2"
    "$DDP" "$RECIPE" --dry-run --set "output.dir=$WORK/x" --set data.feature_cache=auto \
      --set data.feature_cache_views=3 >"$WORK/needless.log" 2>&1 && fail "3 views of deterministic transforms were accepted"
    expect_log needless "every view would be the same"
    ;;
  views)  # random crops and flips with 4 cached views: trains, and the cache holds [800, 4, 512] views
    run four 1 --set "data.feature_cache=$WORK/cache" --set data.flips=true --set data.crop=random \
      --set data.image_size=12 --set data.feature_cache_views=4 --set train.max_steps=6
    expect_log four "800 tiles x 512 features x 4 views built"
    "$PY" - "$WORK/cache/features.h5" <<'PYEOF' || fail "the views are not 4 distinct augmentations"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    v, e = f["views"][...], f["eval"][...]
assert v.shape == (800, 4, 512) and e.shape == (800, 512), (v.shape, e.shape)
distinct = np.mean([len({x.tobytes() for x in v[i]}) for i in range(len(v))])
print(f"views {v.shape}, {distinct:.2f} distinct views per tile on average")
assert distinct > 3.0
PYEOF
    ;;
  stop)  # 3200 tiles at 224 px: a build of about 100 s on 2 CPU cores (one chunk of 64 tiles: about 3 s
    # per rank); the signal comes at its start, to rank 0 only, and rank 1 must stop in the same round
    timeout 300 "$MPIEXEC" -n 2 "$DDP" "$RECIPE" --set "output.dir=$WORK/stopped" --set data.image_size=224 \
      --set data.synthetic_count=3200 --set "data.feature_cache=$WORK/cache" >"$WORK/stopped.log" 2>&1 &
    job=$!
    for _ in $(seq 3000); do
      grep -q "building the feature cache" "$WORK/stopped.log" && break
      sleep 0.01
    done
    rank0=""
    for p in $(pgrep -x satclip-ddp); do
      grep -qa -- "output.dir=$WORK/stopped" "/proc/$p/cmdline" 2>/dev/null &&
        grep -qax OMPI_COMM_WORLD_RANK=0 <(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null) && rank0=$p
    done
    [ -n "$rank0" ] || { kill "$job"; fail "rank 0 not found"; }
    start=$(date +%s)
    kill -USR1 "$rank0"
    wait "$job"
    rc=$? secs=$(($(date +%s) - start))
    tail -5 "$WORK/stopped.log"
    [ $rc -eq 75 ] || fail "exit status $rc after SIGUSR1 during the cache build (expected 75)"
    grep -q "built in" "$WORK/stopped.log" && fail "the build ended before the signal: make it longer"
    expect_log stopped "SIGUSR1 received while building the feature cache (rank 0): stopped before the first step"
    [ $secs -le 30 ] || fail "$secs s from the signal to the end (the ranks must stop within a chunk or two)"
    [ -z "$(ls -A "$WORK/cache" 2>/dev/null)" ] || fail "the stopped build wrote $(ls "$WORK/cache")"
    ls -d "$WORK"/cache.partial* 2>/dev/null && fail "a partial cache was left behind"
    [ -e "$WORK/stopped/checkpoints/latest" ] && fail "a checkpoint from a run stopped before the first step"
    echo "stopped ${secs} s after the signal"
    ;;
  full_disk)  # features.h5 of the 800 tiles (/eval 800 x 512 float32: 1.6 MB) does not fit in 1 MiB
    source "$(dirname "${BASH_SOURCE[0]}")/../support/small_disk.sh"
    small_disk 1m full_disk
    run plain 2
    run full 2 --set "data.feature_cache=$SMALL_DISK/cache"
    expect_log full \
      "feature cache $SMALL_DISK/cache not written: .*features.h5: writing /eval (file write failed: No space left on device)"
    expect_log full "training goes on with the features in memory"
    [ -z "$(ls -A "$SMALL_DISK")" ] || fail "the failed write left $(ls -A "$SMALL_DISK") behind"
    "$PY" $COMPARE same-loss "$WORK/full" "$WORK/plain" 1e-5 ||
      fail "the run without its cache file trained differently"
    ;;
  *) fail "unknown mode $1" ;;
esac
echo "PASS: feature cache $1"
