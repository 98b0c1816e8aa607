#!/usr/bin/env bash
# The trainer queues the next epoch's tiles on the running epoch's loader, so they are read across
# the boundary. This must give exactly the batches a loader started at the epoch gives. A run over
# three epochs (data.drop_last off, so every epoch ends in a smaller batch) against the same run
# resumed from the checkpoint at the end of epoch 1 (a new loader for epoch 2): the samples of
# epochs 2 and 3 (every index of every micro-batch, in order, per rank) and their losses are the
# same, and only each epoch's last micro-batch is smaller.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/log_full" "$WORK/log_resumed"
args=(--set data.drop_last=false --set train.epochs=3 --set train.max_steps=0 --set checkpoint.every_steps=0)
SATCLIP_SAMPLE_LOG="$WORK/log_full" run 2 "$WORK/full" "${args[@]}" ||
  { tail -20 "$WORK/full.log"; fail "the three-epoch run failed"; }
per_epoch=$(grep -o '[0-9]* steps per epoch' "$WORK/full.log" | head -n 1 | cut -d' ' -f1)
[ -n "$per_epoch" ] || fail "no 'steps per epoch' in $WORK/full.log"
ckpt=$(printf '%s/full/checkpoints/step-%08d' "$WORK" "$per_epoch")
[ -d "$ckpt" ] || fail "no checkpoint at the end of epoch 1 ($ckpt)"
SATCLIP_SAMPLE_LOG="$WORK/log_resumed" run 2 "$WORK/resumed" "${args[@]}" --resume "$ckpt" ||
  { tail -20 "$WORK/resumed.log"; fail "the run resumed at epoch 2 failed"; }
"$PY" - "$WORK" <<'PYEOF' || fail "the batches after an epoch boundary differ"
import glob, os, sys
w = sys.argv[1]
def lines(folder):  # rank -> [(epoch, step, micro, [indices])]
    out = {}
    for f in sorted(glob.glob(f"{w}/{folder}/samples-rank*.txt")):
        rows = [list(map(int, l.split())) for l in open(f)]
        out[os.path.basename(f)] = [(r[0], r[1], r[2], r[3:]) for r in rows]
    return out
full, resumed = lines("log_full"), lines("log_resumed")
ok = sorted(full) == sorted(resumed) and len(full) == 2
for rank, rows in full.items():
    later = [r for r in rows if r[0] >= 1]
    same = later == resumed.get(rank)
    epochs = sorted({r[0] for r in rows})
    sizes = {e: [len(r[3]) for r in rows if r[0] == e] for e in epochs}
    # Within an epoch every micro-batch is full except possibly the last, which is smaller.
    shapes = all(len(set(s[:-1])) == 1 and s[-1] <= s[0] for s in sizes.values())
    smaller = all(s[-1] < s[0] for s in sizes.values())
    print(f"{rank}: epochs {epochs}, micro-batch sizes {[(s[0], len(s), s[-1]) for s in sizes.values()]} "
          f"(full size, count, last); epochs 2-3 as after a resume: {same}")
    ok = ok and same and epochs == [0, 1, 2] and shapes and smaller
sys.exit(0 if ok else 1)
PYEOF
from=$((per_epoch + 1)) to=$((3 * per_epoch))
same_losses "$WORK/full" "$WORK/resumed" "$from" "$to"
pass "epochs 2 and 3 read across the boundary: the same batches and losses as a loader started at epoch 2"
