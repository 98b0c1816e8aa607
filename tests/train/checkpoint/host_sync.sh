#!/usr/bin/env bash
# train.host_sync: log (the host reads the loss and the checks only at log, validation and
# checkpoint steps; the steps between decide non-finite values on the device) against step (every
# step reads). At np 2, on the CPU, where both run:
#   1. finite steps, gradient clipping active: the same logged losses, bitwise the same
#      step-00000040 model.pt and optimizer.pt;
#   2. learning rates that make the loss non-finite after a few steps, train.nonfinite=skip:
#      the same number of skipped steps and bitwise the same final model.pt and optimizer.pt
#      (skipped steps change nothing, and the optimizer's step counts are settled);
#   3. the same with train.nonfinite=abort: both fail, naming the first non-finite step.
source "$(dirname "$0")/lib.sh"
common=(--set train.log_every=5 --set checkpoint.every_steps=10)
for mode in step log; do
  run 2 "$WORK/finite-$mode" "${common[@]}" --set optim.clip_norm=0.01 --set train.host_sync=$mode ||
    { tail -20 "$WORK/finite-$mode.log"; fail "host_sync=$mode failed"; }
done
grep -q "train.host_sync: the host reads the loss and checks at log" "$WORK/finite-log.log" ||
  fail "host_sync=log did not say that it defers the reads"
grep -q "train.host_sync: the host reads" "$WORK/finite-step.log" && fail "host_sync=step deferred the reads"
"$PY" - "$WORK/finite-step" "$WORK/finite-log" <<'PYEOF' || fail "the logged losses differ"
import json, sys
def losses(d):
    return {j["step"]: j["loss"] for j in map(json.loads, open(d + "/metrics.jsonl")) if j["event"] == "train"}
a, b = losses(sys.argv[1]), losses(sys.argv[2])
print(f"logged steps {sorted(a)}; equal losses: {a == b}")
sys.exit(0 if a == b and len(a) == 8 else 1)
PYEOF
for f in model.pt optimizer.pt; do
  same_files "$WORK/finite-step/checkpoints/step-00000040/$f" "$WORK/finite-log/checkpoints/step-00000040/$f"
done
pass "finite steps with clipping: the same losses and bitwise the same step-40 weights and optimizer state"

# Learning rates of 10 (the largest a recipe allows): after a few steps the loss overflows, and
# stays non-finite, since skipped steps leave the weights as they are.
blow=(--set optim.lr_location=10 --set optim.lr_projection=10 --set optim.scheduler=none --set optim.warmup_steps=0)
for mode in step log; do
  run 2 "$WORK/skip-$mode" "${common[@]}" "${blow[@]}" --set train.nonfinite=skip --set train.host_sync=$mode ||
    { tail -20 "$WORK/skip-$mode.log"; fail "nonfinite=skip, host_sync=$mode failed"; }
done
n_step=$(grep -c "non-finite values in .*; step skipped" "$WORK/skip-step.log")
# host_sync=log: the steps between reads (reported together at the next read) plus the read steps.
n_between=$(grep -o "[0-9]* step(s) with non-finite values skipped" "$WORK/skip-log.log" | awk '{ n += $1 } END { print n + 0 }')
n_read=$(grep -c "non-finite values in .*; step skipped" "$WORK/skip-log.log")
n_log=$((n_between + n_read))
echo "skipped steps: host_sync=step $n_step, host_sync=log $n_log ($n_between between reads, $n_read at reads)"
[ "$n_step" -gt 10 ] && [ "$n_between" -gt 0 ] && [ "$n_step" = "$n_log" ] || fail "the skipped steps differ ($n_step vs $n_log)"
for f in model.pt optimizer.pt; do
  same_files "$WORK/skip-step/checkpoints/step-00000040/$f" "$WORK/skip-log/checkpoints/step-00000040/$f"
done
pass "non-finite steps skipped: as many in both modes, bitwise the same step-40 weights and optimizer state"

for mode in step log; do
  run 2 "$WORK/abort-$mode" "${common[@]}" "${blow[@]}" --set train.host_sync=$mode &&
    fail "nonfinite=abort, host_sync=$mode ran through non-finite losses"
done
first=$(grep -o "step [0-9]*: non-finite values in the loss" "$WORK/abort-step.log" | head -n 1 | cut -d' ' -f2 | tr -d :)
[ -n "$first" ] || { tail -5 "$WORK/abort-step.log"; fail "host_sync=step did not name the step"; }
grep -q "step $first: non-finite values in the loss or a gradient (read at step [0-9]*; [0-9]* step(s) with non-finite" \
  "$WORK/abort-log.log" || { tail -5 "$WORK/abort-log.log"; fail "host_sync=log did not name step $first"; }
pass "nonfinite=abort: both modes fail naming step $first"
