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

# The CPU variant of the 1-node script with TASKS tasks (default 2) of CPUS CPUs (default 1):
# submit ARGS... (the recipe and its options).
submit() {
  SATCLIP_DEVICE=cpu sbatch --parsable --ntasks-per-node="${TASKS:-2}" --gpus-per-node=0 --cpus-per-task="${CPUS:-1}" \
    --output="$WORK/job-%j.out" "$SATCLIP_HOME/slurm/satclip-1node.sbatch" "$@"
}
