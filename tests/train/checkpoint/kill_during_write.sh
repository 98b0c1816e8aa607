#!/usr/bin/env bash
# (e) kill -9 at random moments of a run that checkpoints every step (so most kills land inside a
# checkpoint write), ROUNDS times, each round resuming with --resume auto: afterwards the newest
# complete checkpoint is always found and verifies, and a final --resume auto finishes.
# Usage: kill_during_write.sh ROUNDS
source "$(dirname "$0")/lib.sh"
rounds=${1:-12}
dir="$WORK/run"
RANDOM=7
last=0
# Only the kills end a round: the recipe's few epochs would end the run after 44 steps, which a fast
# machine reaches within the rounds (then no round after it sees a new checkpoint).
long=(--set train.epochs=100000 --set checkpoint.every_steps=1 --set checkpoint.keep=2)
for round in $(seq "$rounds"); do
  start 1 "$dir" --resume auto "${long[@]}" --set train.max_steps=100000
  # Until this round has completed a checkpoint of its own, then a random moment 0 .. 1.5 s later
  # (checkpoint writes take most of each step's time).
  for _ in $(seq 600); do
    newest=$(sed -n 's/^step-0*\([0-9]\)/\1/p' "$dir/checkpoints/latest" 2>/dev/null)
    [ -n "$newest" ] && [ "$newest" -gt "$last" ] && break
    sleep 0.1
  done
  [ -n "$newest" ] && [ "$newest" -gt "$last" ] || fail "round $round: no new checkpoint within 60 s"
  sleep "$((RANDOM % 2)).$((RANDOM % 10))$((RANDOM % 10))"
  pid=$(ranks "$dir" | head -1)
  kill -9 "$pid" 2>/dev/null
  wait "$job" 2>/dev/null
  info=$("$EXPORT" --checkpoint "$dir" --info 2>"$WORK/export.err") ||
    { cat "$WORK/export.err"; fail "round $round: no complete checkpoint found"; }
  step=$(echo "$info" | sed -n 's/^step: //p')
  [ "$step" -ge "$last" ] || fail "round $round: the newest checkpoint went back from $last to $step"
  partial=$(ls -a "$dir/checkpoints" | grep -c 'partial' || true)
  echo "round $round: newest complete checkpoint step $step ($partial partial leftovers)"
  last=$step
done
run 1 "$dir" --resume auto "${long[@]}" --set train.max_steps=$((last + 2)) ||
  { tail -20 "$dir.log"; fail "the final resume failed"; }
grep -q "resuming from .*step-$(printf %08d "$last"): step $last" "$dir.log" || fail "the final resume did not start at step $last"
pass "$rounds kill -9 rounds: a complete checkpoint was always found; the final resume finished"
