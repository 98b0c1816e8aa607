#!/usr/bin/env bash
# (b) A checkpoint written at np 2 mid-epoch, resumed at np 1: the epoch's samples (every index
# consumed, logged through SATCLIP_SAMPLE_LOG) have no duplicate and no gap, i.e. they are exactly
# the samples of the same epoch in an uninterrupted run.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/log_full" "$WORK/log_a" "$WORK/log_b"
SATCLIP_SAMPLE_LOG="$WORK/log_full" run 2 "$WORK/full" --set train.max_steps=22 || fail "the uninterrupted run failed"
SATCLIP_SAMPLE_LOG="$WORK/log_a" run 2 "$WORK/a" --set train.max_steps=15 || fail "the first part failed"
SATCLIP_SAMPLE_LOG="$WORK/log_b" run 1 "$WORK/b" --resume "$WORK/a/checkpoints/step-00000015" ||
  { tail -20 "$WORK/b.log"; fail "the np 1 resume failed"; }
"$PY" - "$WORK" <<'PYEOF' || fail "the epoch's samples differ"
import collections, glob, sys
w = sys.argv[1]
def samples(folder, epoch=0, max_step=None):
    out = []
    for f in sorted(glob.glob(f"{w}/{folder}/samples-rank*.txt")):
        for line in open(f):
            e, step, micro, *idx = map(int, line.split())
            if e == epoch and (max_step is None or step <= max_step):
                out += idx
    return out
full = samples("log_full")
first, rest = samples("log_a", max_step=15), samples("log_b")
got = first + rest
dups = [i for i, c in collections.Counter(got).items() if c > 1]
missing, extra = set(full) - set(got), set(got) - set(full)
print(f"epoch 0: uninterrupted {len(full)} samples; np 2 steps 1..15: {len(first)}, np 1 after resume: {len(rest)}; "
      f"{len(dups)} duplicates, {len(missing)} missing, {len(extra)} extra")
sys.exit(0 if len(full) == len(set(full)) == 704 and not dups and not missing and not extra and len(got) == 704 else 1)
PYEOF
pass "np 2 -> np 1: the epoch continues from the same global position, nothing repeated or skipped"
