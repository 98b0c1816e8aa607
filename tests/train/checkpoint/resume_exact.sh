#!/usr/bin/env bash
# (a) A run resumed from step 20 of a 40-step run (checkpoints every 10 steps), into another
# output.dir at the same world size, logs the same loss at steps 21..40 and writes bitwise the same
# step-00000040 weights and optimizer state. Also: a checkpoint of another model/data recipe is
# refused (naming the changed key) unless --resume-force.
# Usage: resume_exact.sh NP REFERENCE_RUN_DIR   (the uninterrupted run, a ctest fixture)
source "$(dirname "$0")/lib.sh"
np=$1 ref=$2
ck="$ref/checkpoints/step-00000020"
[ -f "$ck/COMPLETE" ] || fail "$ck is not a complete checkpoint"
# --dry-run --resume: where a run would continue, checked as the run checks it; nothing written.
run "$np" "$WORK/dry" --resume "$ck" --dry-run || { tail -5 "$WORK/dry.log"; fail "the dry run failed"; }
grep -q "^resume: $ck: step 20, epoch 1, sample 640 of that epoch (written at $np rank(s), .*); 20 steps to go$" \
  "$WORK/dry.log" || { grep resume "$WORK/dry.log"; fail "the dry run did not say where a run would resume"; }
[ -e "$WORK/dry" ] && fail "the dry run wrote $WORK/dry"
run "$np" "$WORK/dry" --resume "$ck" --dry-run --set loss.temperature=0.5 && fail "a dry run accepted another recipe"
grep -q "loss.temperature: 1 -> 0.5" "$WORK/dry.log" || fail "the dry run's refusal does not name the key"
pass "np $np: --dry-run --resume names the checkpoint, step and steps to go, refuses another recipe, writes nothing"

run "$np" "$WORK/b" --resume "$ck" || { tail -20 "$WORK/b.log"; fail "the resumed run failed"; }
grep -q "resuming from $ck: step 20" "$WORK/b.log" || fail "the resumed run did not say where it resumed"
same_losses "$ref" "$WORK/b" 21 40
for f in model.pt optimizer.pt; do same_files "$ref/checkpoints/step-00000040/$f" "$WORK/b/checkpoints/step-00000040/$f"; done
pass "np $np: steps 21..40 identical, step-00000040 model.pt and optimizer.pt bitwise identical"

run "$np" "$WORK/c" --resume "$ck" --set loss.temperature=0.5 && fail "a changed loss.temperature was accepted"
grep -q "loss.temperature: 1 -> 0.5" "$WORK/c.log" || { tail -5 "$WORK/c.log"; fail "the refusal does not name the key"; }
grep -q -- "--resume-force" "$WORK/c.log" || fail "the refusal does not mention --resume-force"
run "$np" "$WORK/d" --resume "$ck" --resume-force --set loss.temperature=0.5 --set train.max_steps=21 ||
  { tail -5 "$WORK/d.log"; fail "--resume-force did not resume"; }
pass "another recipe is refused with the changed key named, and accepted with --resume-force"
