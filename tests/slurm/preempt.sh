#!/usr/bin/env bash
# (b) Preemption: SIGUSR1 to the batch script of a running job (`scancel --signal=USR1 --batch`,
# what --signal=B:USR1@T does before the time limit) -> the ranks checkpoint and exit 75, the
# script requeues the job, which resumes with --resume auto and finishes: exactly the losses and
# final weights of the uninterrupted run at the same world size.
# With NODES=2 (and TASKS per node) the same across the nodes of the multi-node test cluster.
# Usage: [NODES=N TASKS=T] preempt.sh RECIPE REFERENCE_RUN_DIR (the uninterrupted run of RECIPE
# at the same world size)
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
world=$((${NODES:-1} * ${TASKS:-2}))
for ((r = 0; r < world; r++)); do  # every rank (on every node) took part in the stop
  grep -m1 -H -oE "(SIGUSR1 received|another rank received a stop signal): stopping after step [0-9]+" "$dir/log-rank$r.txt" ||
    fail "rank $r did not stop on the signal"
done
[ "${NODES:-1}" -eq 1 ] || check_placement "$dir"
"$PY" "$(dirname "$0")/same_losses.py" "$ref" "$dir" || fail "the losses differ from the uninterrupted run"
cmp "$ref/checkpoints/step-00000040/model.pt" "$dir/checkpoints/step-00000040/model.pt" || fail "final weights differ"
pass "job $job: SIGUSR1 -> checkpoint, exit 75, requeued once, resumed, identical losses and weights"
