#!/usr/bin/env bash
# Losing a node: the CPU variant of slurm/satclip-multinode.sbatch on 2 nodes x 1 task, launched
# by LAUNCHER. Once rank 0 has passed step 12 (a checkpoint exists), everything of node 2 is
# killed with SIGKILL: its slurmd, the job's step daemon and rank 1 (`cluster.sh kill-node`). Then
#   - the job's run ends non-zero within 60 s, not a hang (mpirun notices its lost daemon; under
#     srun the survivors' collective watchdog, distributed.timeout_s, ends them);
#   - the job's output names the lost node and its rank (satclip-run.sh asks every node to answer);
#   - satclip-run.sh requeues the job; when node 2 returns (its slurmd restarted, its /tmp emptied
#     as by a reboot), the job resumes from the newest checkpoint, which must be complete, and ends
#     with exactly the uninterrupted run's losses and final weights.
# Usage: lose_node.sh LAUNCHER RECIPE REFERENCE_RUN_DIR [satclip-ddp options...]
# Environment: CLUSTER (the folder of `cluster.sh start CLUSTER --nodes 2`), and lib.sh's.
source "$(dirname "$0")/lib.sh"
: "${CLUSTER:?}"
launcher=$1 recipe=$2 ref=$3
shift 3
dir="$WORK/run" cluster="$SATCLIP_HOME/tests/slurm/cluster.sh"
export NODES=2 TASKS=1
job=$(SATCLIP_LAUNCHER=$launcher submit "$recipe" --set "output.dir=$dir" "$@") || fail "sbatch failed"
out="$WORK/job-$job.out"
wait_step "$dir" 12 120
t0=$(date +%s.%N)
# Whatever happens next, node 2 comes back for the tests after this one.
node_back() {
  local rc=$?
  [ -n "${returned:-}" ] || "$cluster" start-node "$CLUSTER" 2
  (exit "$rc")
  tidy_on_success
}
trap node_back EXIT
"$cluster" kill-node "$CLUSTER" 2 || fail "cluster.sh kill-node failed"
echo "killed node 2 at step $(grep -oE '"step":[0-9]+' "$dir/metrics.jsonl" | tail -1 | cut -d: -f2)"
state=""
for _ in $(seq 1200); do
  state=$(job_field "$job" JobState)
  [ "$state" = RUNNING ] || break
  sleep 0.1
done
took=$(echo "$(date +%s.%N) - $t0" | bc)
grep "satclip-run" "$out"
echo "the job's run ended ($state) ${took} s after node 2 was killed"
[ "$(echo "$took <= 60" | bc)" -eq 1 ] || fail "the job was still running ${took} s after node 2 was killed"
grep -qE "satclip-ddp exited with status [1-9]" "$out" || fail "the launch did not end with a non-zero status"
grep -q "lost node(s): node2 (rank 1)" "$out" || fail "the output does not name the lost node and rank"
grep -q "node lost: requeueing job $job" "$out" || fail "the job was not requeued"
returned=1
"$cluster" start-node "$CLUSTER" 2 || fail "node 2 did not come back"
state=$(wait_job "$job" 300)
[ "$state" = COMPLETED ] || { tail -20 "$out"; fail "job $job ended $state after the requeue"; }
[ "$(job_field "$job" Restarts)" = 1 ] || fail "job $job was requeued $(job_field "$job" Restarts) times, expected 1"
grep -m1 -oE "resuming from $dir/checkpoints/step-[0-9]+" "$out" || fail "the requeued job did not resume"
"$PY" "$(dirname "$0")/same_losses.py" "$ref" "$dir" || fail "the losses differ from the uninterrupted run"
cmp "$ref/checkpoints/step-00000040/model.pt" "$dir/checkpoints/step-00000040/model.pt" || fail "final weights differ"
pass "$launcher: node 2 killed, run ended in ${took} s naming node2 (rank 1), requeued, resumed, identical losses and weights"
