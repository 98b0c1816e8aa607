#!/usr/bin/env bash
# TensorBoard events (train.tensorboard, default on), read back by the tensorboard package: the
# uninterrupted run's scalars equal its metrics.jsonl; resumed in place from step 20 (events of
# steps 21..40 already written) and from step 30 after a crash tore the file's last record, every
# (tag, step) is still there once and equal to metrics.jsonl; train.tensorboard: false writes none.
# Usage: tensorboard_resume.sh REFERENCE_RUN_DIR   (the uninterrupted np 1 run, a ctest fixture)
source "$(dirname "$0")/lib.sh"
ref=$1
check() { "$PY" "$(dirname "$0")/../check_tensorboard.py" "$1" || fail "$1: the events differ from metrics.jsonl"; }
check "$ref"
pass "the uninterrupted run: every metrics.jsonl value once in the events, the recipe as text"

cp -r "$ref" "$WORK/a"
run 1 "$WORK/a" --resume "$WORK/a/checkpoints/step-00000020" || { tail -20 "$WORK/a.log"; fail "the resumed run failed"; }
grep -Eq "tensorboard: [1-9][0-9]* event\(s\) after step 20 dropped" "$WORK/a.log" ||
  { grep tensorboard "$WORK/a.log"; fail "the resumed run did not trim the events after step 20"; }
check "$WORK/a"
pass "resumed from step 20 in place: steps 21..40 once each, as in metrics.jsonl"

events=$WORK/a/tensorboard/events.out.tfevents.satclip-ddp
truncate -s -5 "$events"  # a crash in the middle of the last record
run 1 "$WORK/a" --resume "$WORK/a/checkpoints/step-00000030" || { tail -20 "$WORK/a.log"; fail "the second resume failed"; }
grep -q "tensorboard: a damaged tail after step 30 dropped" "$WORK/a.log" ||
  { grep tensorboard "$WORK/a.log"; fail "the torn record was not reported"; }
check "$WORK/a"
pass "a torn last record: dropped with what followed step 30, the rest intact"

run 1 "$WORK/off" --set train.tensorboard=false --set train.max_steps=2 || { tail -20 "$WORK/off.log"; fail "the run failed"; }
[ -e "$WORK/off/tensorboard" ] && fail "train.tensorboard: false wrote $WORK/off/tensorboard"
pass "train.tensorboard: false writes no events"
