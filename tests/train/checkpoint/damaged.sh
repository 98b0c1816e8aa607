#!/usr/bin/env bash
# (f) Damaged checkpoints: a truncated file, a flipped byte, a missing marker, and a hostile tensor
# file with a matching marker are each reported by name; --resume auto skips them (saying which)
# and takes the newest intact one.
source "$(dirname "$0")/lib.sh"
dir="$WORK/run" ck="$WORK/run/checkpoints"
run 1 "$dir" --set train.max_steps=40 || fail "the run failed"
ls "$ck"
expect_error() {  # expect_error MARKER COMMAND...: exit status 2 and MARKER in the output
  local marker=$1 out rc=0
  shift
  out=$("$@" 2>&1) || rc=$?
  echo "$out" | head -3
  [ "$rc" -eq 2 ] || fail "exit status $rc for $*"
  grep -qF -- "$marker" <<<"$out" || fail "the error lacks '$marker'"
}
truncate -s 1000 "$ck/step-00000040/model.pt"
expect_error "step-00000040/model.pt: 1000 bytes, but the checkpoint recorded" "$EXPORT" --checkpoint "$ck/step-00000040" --info
printf '\x55' | dd of="$ck/step-00000030/optimizer.pt" bs=1 seek=5000 conv=notrunc status=none
expect_error "step-00000030/optimizer.pt: content hash" "$EXPORT" --checkpoint "$ck/step-00000030" --info
rm "$ck/step-00000022/COMPLETE"
expect_error "step-00000022: incomplete checkpoint" "$EXPORT" --checkpoint "$ck/step-00000022" --info
# A hostile rng.pt whose marker entry matches: the tensor reader must refuse it cleanly.
head -c 4096 /dev/urandom > "$ck/step-00000020/rng.pt"
"$PY" - "$ck/step-00000020" <<'PYEOF'
import os, sys
d = sys.argv[1]
def fnv(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
lines = open(f"{d}/COMPLETE").read().splitlines()
data = open(f"{d}/rng.pt", "rb").read()
lines = [f"rng.pt {len(data)} {fnv(data):016x}" if l.startswith("rng.pt ") else l for l in lines]
open(f"{d}/COMPLETE", "w").write("\n".join(lines) + "\n")
PYEOF
run 1 "$WORK/hostile" --resume "$ck/step-00000020" && fail "a hostile rng.pt was accepted"
grep -q "step-00000020/rng.pt" "$WORK/hostile.log" || { tail -5 "$WORK/hostile.log"; fail "the error does not name rng.pt"; }
# --resume auto passes over 40 (truncated), 30 (altered), 22 (incomplete) and names them; 20 verifies (its
# marker matches) but cannot be read, which is an error; so drop it and expect 10.
rm -r "$ck/step-00000020"
run 1 "$dir" --resume auto --set train.max_steps=12 || { tail -20 "$dir.log"; fail "--resume auto failed"; }
for n in 40 30 22; do grep -q "skipping a damaged checkpoint: .*step-000000$n" "$dir.log" || fail "step $n not reported as skipped"; done
grep -q "resuming from $ck/step-00000010: step 10" "$dir.log" || fail "did not resume from step-00000010"
pass "damaged checkpoints are named, skipped by --resume auto, which took step-00000010"
