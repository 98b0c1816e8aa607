#!/usr/bin/env bash
# A full disk during checkpoint writes: output.dir on a 200 MiB tmpfs (tests/support/small_disk.sh;
# skipped when not root). The first checkpoint (step 5, ~120 MB) fits, the next ones do not: each
# failure is an error naming the checkpoint and the cause, leaves no partial folder, the run ends
# non-zero because its last checkpoint is missing, and step 5 stays complete and usable.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../../support/small_disk.sh"
small_disk 200m
dir=$SMALL_DISK/run
rc=0
run 1 "$dir" --set checkpoint.every_steps=5 --set train.max_steps=12 || rc=$?
cp "$dir.log" "$WORK/run.log" 2>/dev/null
grep -E "not written|error" "$dir.log" | head -4
[ "$rc" -ne 0 ] || fail "the run exited 0 although its last checkpoint could not be written"
grep -q "checkpoint $dir/checkpoints/step-00000010 not written: .*\(No space left\|write failed\)" "$dir.log" ||
  fail "no error naming step-00000010 and the cause"
grep -q "training finished, but the last checkpoint was not written" "$dir.log" || fail "no final error"
! ls -a "$dir/checkpoints" | grep -q partial || fail "partial folders were left behind: $(ls -a "$dir/checkpoints")"
info=$("$EXPORT" --checkpoint "$dir" --info) || fail "no usable checkpoint left"
grep -q "^step: 5$" <<<"$info" || fail "the newest complete checkpoint is not step 5"
pass "full disk: failed checkpoints named with the cause, none left partial, exit $rc, step-00000005 intact"
