#!/usr/bin/env bash
# (a) sbatch the CPU variant of slurm/satclip-1node.sbatch with TASKS tasks (default 2) of CPUS
# CPUs (default 1) on the quickstart recipe for 30 steps, launched by LAUNCHER (srun = `srun
# --mpi=pmix`, or mpirun); the job completes with exit code 0:0, the run directory holds the
# metrics, every rank's log and a checkpoint, and each rank may use at least its task's CPUS CPUs
# (mpirun binds a rank to one core unless satclip-run.sh maps it to its --cpus-per-task).
# Usage: [TASKS=N] [CPUS=C] submit.sh LAUNCHER
source "$(dirname "$0")/lib.sh"
launcher=$1 dir="$WORK/run"
run_job "$launcher" "$SATCLIP_HOME/recipes/quickstart.yaml" --set "output.dir=$dir" --set train.max_steps=30 \
  --set train.log_every=10
grep -q '"step":30' "$dir/metrics.jsonl" || fail "no step 30 in metrics.jsonl"
tasks=${TASKS:-2} cpus=${CPUS:-1}
for ((r = 0; r < tasks; r++)); do
  log="$dir/log-rank$r.txt"
  [ -f "$log" ] || fail "missing $log"
  grep -q "rank $r/$tasks " "$log" || fail "rank $r: the job did not run $tasks ranks in one MPI world"
  # "rank R/N (local R/N, host H) on cpu, S CPUs (A of T allowed)": S, its share, at least its task's CPUs
  # (more where SLURM binds nothing, as with the test cluster's task/none and srun).
  share=$(grep -oE "on cpu, [0-9]+ CPUs" "$log" | head -1 | grep -oE "[0-9]+")
  [ -n "$share" ] && [ "$share" -ge "$cpus" ] ||
    fail "rank $r may not use its task's $cpus CPU(s): $(grep -oE 'on cpu, .*allowed\)' "$log" | head -1)"
done
[ "$(cat "$dir/checkpoints/latest")" = step-00000030 ] || fail "no checkpoint at step 30"
pass "$launcher: job $job COMPLETED 0:0, 30 steps at $tasks rank(s) of $cpus CPU(s), checkpoint step-00000030"
