#!/usr/bin/env bash
# (a) sbatch the CPU variant of slurm/satclip-1node.sbatch with 2 tasks on the quickstart recipe
# for 30 steps, launched by LAUNCHER (srun = `srun --mpi=pmix`, or mpirun); the job completes
# with exit code 0:0 and the run directory holds the metrics, both ranks' logs and a checkpoint.
# Usage: submit.sh LAUNCHER
source "$(dirname "$0")/lib.sh"
launcher=$1 dir="$WORK/run"
job=$(SATCLIP_LAUNCHER=$launcher submit "$SATCLIP_HOME/recipes/quickstart.yaml" --set "output.dir=$dir" \
      --set train.max_steps=30 --set train.log_every=10) || fail "sbatch failed"
state=$(wait_job "$job" 400)
out="$WORK/job-$job.out"
grep "satclip-run" "$out"
[ "$state" = COMPLETED ] || { tail -20 "$out"; fail "job $job ended $state"; }
[ "$(job_field "$job" ExitCode)" = "0:0" ] || fail "job $job exit code $(job_field "$job" ExitCode)"
grep -q "launch: $launcher " "$out" || fail "the job did not launch with $launcher"
grep -q '"step":30' "$dir/metrics.jsonl" || fail "no step 30 in metrics.jsonl"
[ -f "$dir/log-rank0.txt" ] && [ -f "$dir/log-rank1.txt" ] || fail "missing rank logs"
grep -q "rank 0/2" "$dir/log-rank0.txt" || fail "the job did not run 2 ranks in one MPI world"
[ "$(cat "$dir/checkpoints/latest")" = step-00000030 ] || fail "no checkpoint at step 30"
pass "$launcher: job $job COMPLETED 0:0, 30 steps at 2 ranks, checkpoint step-00000030"
