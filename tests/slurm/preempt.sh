#!/usr/bin/env bash
# (b) Preemption: SIGUSR1 to the batch script of a running job (`scancel --signal=USR1 --batch`,
# what --signal=B:USR1@T does before the time limit) -> the ranks checkpoint and exit 75, the
# script requeues the job, which resumes with --resume auto and finishes: exactly the losses and
# final weights of the uninterrupted run at the same world size.
# Usage: preempt.sh RECIPE REFERENCE_RUN_DIR   (the uninterrupted np 2 run of RECIPE)
source "$(dirname "$0")/lib.sh"
recipe=$1 ref=$2 dir="$WORK/run"
job=$(SATCLIP_LAUNCHER=srun submit "$recipe" --set "output.dir=$dir") || fail "sbatch failed"
wait_step "$dir" 12 120
scancel --signal=USR1 --batch "$job" || fail "scancel --signal=USR1 --batch failed"
state=$(wait_job "$job" 400)
out="$WORK/job-$job.out"
grep -E "satclip-run|received|resuming" "$out"
[ "$state" = COMPLETED ] || { tail -20 "$out"; fail "job $job ended $state"; }
[ "$(job_field "$job" Restarts)" = 1 ] || fail "job $job was requeued $(job_field "$job" Restarts) times, expected 1"
grep -q "satclip-ddp exited with status 75" "$out" || fail "no exit status 75 before the requeue"
grep -q "restart 1 of at most" "$out" || fail "the requeued job did not run"
grep -q "resuming from $dir/checkpoints/step-" "$out" || fail "the requeued job did not resume"
"$PY" - "$ref" "$dir" <<'PYEOF' || fail "the losses differ from the uninterrupted run"
import json, sys
def losses(d):
    return {j["step"]: j["loss"] for j in map(json.loads, open(d + "/metrics.jsonl")) if j["event"] == "train"}
a, b = losses(sys.argv[1]), losses(sys.argv[2])
same = sum(a.get(s) == b.get(s) for s in a)
print(f"{same} of {len(a)} train losses identical to the uninterrupted run")
sys.exit(0 if same == len(a) == len(b) else 1)
PYEOF
cmp "$ref/checkpoints/step-00000040/model.pt" "$dir/checkpoints/step-00000040/model.pt" || fail "final weights differ"
pass "job $job: SIGUSR1 -> checkpoint, exit 75, requeued once, resumed, identical losses and weights"
