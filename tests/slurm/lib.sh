# Shared by the SLURM tests (sourced). Environment from ctest: SLURM_CONF (the test cluster's),
# SATCLIP_HOME (the checkout), DDP (satclip-ddp), PY, WORK (this test's scratch folder).
set -u
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }
: "${SLURM_CONF:?}" "${SATCLIP_HOME:?}" "${DDP:?}" "${PY:?}" "${WORK:?}"
[ -f "$SLURM_CONF" ] || fail "no test cluster ($SLURM_CONF missing: the slurm_cluster_start fixture failed)"
rm -rf "$WORK" && mkdir -p "$WORK"
source "$(dirname "${BASH_SOURCE[0]}")/../support/tidy_on_success.sh"
export SATCLIP_BIN=$DDP SATCLIP_HOME

# job_field JOB FIELD: a field of `scontrol show job` (e.g. JobState, ExitCode, Restarts).
job_field() { scontrol show job "$1" 2>/dev/null | grep -oE "(^| )$2=[^ ]*" | head -1 | cut -d= -f2; }

# wait_job JOB SECONDS: until the job has ended (COMPLETED, FAILED, ...); prints its state.
wait_job() {
  local state=""
  for _ in $(seq $(($2 * 2))); do
    state=$(job_field "$1" JobState)
    case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) break ;; esac
    sleep 0.5
  done
  echo "$state"
}

# wait_step DIR N [SECONDS] (tests/support/wait_step.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../support/wait_step.sh"

# The CPU variant of the batch scripts, TASKS tasks per node (default 2) of CPUS CPUs (default 1):
# satclip-1node.sbatch, or with NODES >= 2 (the cluster of `cluster.sh start DIR --nodes N`)
# satclip-multinode.sbatch on NODES nodes. submit ARGS... (the recipe and its options).
submit() {
  local script=satclip-1node.sbatch nodes=()
  if [ "${NODES:-1}" -gt 1 ]; then script=satclip-multinode.sbatch nodes=(--nodes="$NODES"); fi
  SATCLIP_DEVICE=cpu sbatch --parsable "${nodes[@]}" --ntasks-per-node="${TASKS:-2}" --gpus-per-node=0 \
    --cpus-per-task="${CPUS:-1}" --output="$WORK/job-%j.out" "$SATCLIP_HOME/slurm/$script" "$@"
}

# run_job LAUNCHER ARGS...: submit ARGS with SATCLIP_LAUNCHER=LAUNCHER and wait for the job (400 s
# at most); it must complete with exit code 0:0, launched by LAUNCHER. Sets job and out (its output).
run_job() {
  local launcher=$1 state
  shift
  job=$(SATCLIP_LAUNCHER=$launcher submit "$@") || fail "sbatch failed"
  state=$(wait_job "$job" 400)
  out="$WORK/job-$job.out"
  grep "satclip-run" "$out"
  [ "$state" = COMPLETED ] || { tail -20 "$out"; fail "job $job ended $state"; }
  [ "$(job_field "$job" ExitCode)" = "0:0" ] || fail "job $job exit code $(job_field "$job" ExitCode)"
  grep -q "launch: $launcher " "$out" || fail "the job did not launch with $launcher"
}

# check_placement RUN_DIR: NODES x TASKS ranks, rank r on node(r / TASKS + 1) with node-local rank
# r % TASKS, as each rank's log says; prints those lines and rank 0's "hosts:" line.
check_placement() {
  local nodes=${NODES:-1} tasks=${TASKS:-2} world r line
  world=$((nodes * tasks))
  for ((r = 0; r < world; r++)); do
    line=$(grep -m1 -oE "rank $r/$world \(local [0-9]+/[0-9]+, host [^)]+\)" "$1/log-rank$r.txt") ||
      fail "rank $r: no 'rank $r/$world (local ..., host ...)' line in $1/log-rank$r.txt"
    echo "$line"
    [ "$line" = "rank $r/$world (local $((r % tasks))/$tasks, host node$((r / tasks + 1)))" ] ||
      fail "rank $r should run on node$((r / tasks + 1)) as local rank $((r % tasks)) of $tasks"
  done
  grep -m1 -oE "hosts: .*" "$1/log-rank0.txt" || fail "rank 0 did not log the ranks' hosts"
}
