#!/usr/bin/env bash
# checkpoint.every_epochs: five epochs, no step-scheduled checkpoints and no validation (so no
# best-loss checkpoint). With every_epochs 2 the checkpoints are at the ends of epochs 2 and 4 and
# after the last step (epoch 5), each holding the next epoch's start as its position; with 0 only
# after the last step.
source "$(dirname "$0")/lib.sh"
args=(--set train.epochs=5 --set train.max_steps=0 --set checkpoint.every_steps=0 --set checkpoint.keep=10
      --set data.val_fraction=0)
# checkpoints DIR: the step numbers of DIR's checkpoints, ascending, on one line.
checkpoints() { ls "$1/checkpoints" | sed -n 's/^step-0*\([0-9][0-9]*\)$/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
run 1 "$WORK/every2" "${args[@]}" --set checkpoint.every_epochs=2 ||
  { tail -20 "$WORK/every2.log"; fail "the run with checkpoint.every_epochs=2 failed"; }
per_epoch=$(grep -o '[0-9]* steps per epoch' "$WORK/every2.log" | head -n 1 | cut -d' ' -f1)
[ -n "$per_epoch" ] || fail "no 'steps per epoch' in $WORK/every2.log"
want="$((2 * per_epoch)) $((4 * per_epoch)) $((5 * per_epoch))"
got=$(checkpoints "$WORK/every2")
echo "every_epochs=2: checkpoints after steps '$got' ($per_epoch steps per epoch)"
[ "$got" = "$want" ] || fail "checkpoint.every_epochs=2 wrote checkpoints after steps '$got', expected '$want'"
for e in 2 4; do
  meta=$(printf '%s/every2/checkpoints/step-%08d/meta.yaml' "$WORK" $((e * per_epoch)))
  grep -Eq "^epoch: $e$" "$meta" && grep -Eq "^cursor: 0$" "$meta" ||
    { cat "$meta"; fail "$meta does not hold the start of epoch $((e + 1)) (epoch $e, cursor 0)"; }
done
run 1 "$WORK/every0" "${args[@]}" --set checkpoint.every_epochs=0 ||
  { tail -20 "$WORK/every0.log"; fail "the run with checkpoint.every_epochs=0 failed"; }
got=$(checkpoints "$WORK/every0")
echo "every_epochs=0: checkpoints after steps '$got'"
[ "$got" = "$((5 * per_epoch))" ] || fail "checkpoint.every_epochs=0 wrote checkpoints after steps '$got', expected only the last"
pass "checkpoint.every_epochs: 2 writes at the ends of epochs 2 and 4 and the last step, 0 only at the last step"
