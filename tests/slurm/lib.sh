# Shared by the SLURM tests (sourced). Environment from ctest: SLURM_CONF (the test cluster's),
# SATCLIP_HOME (the checkout), DDP (satclip-ddp), PY, WORK (this test's scratch folder).
set -u
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }
: "${SLURM_CONF:?}" "${SATCLIP_HOME:?}" "${DDP:?}" "${PY:?}" "${WORK:?}"
[ -f "$SLURM_CONF" ] || fail "no test cluster ($SLURM_CONF missing: the slurm_cluster_start fixture failed)"
rm -rf "$WORK" && mkdir -p "$WORK"
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

# wait_step DIR N: until DIR/metrics.jsonl has a train line at step >= N (120 s at most).
wait_step() {
  for _ in $(seq 1200); do
    if [ -f "$1/metrics.jsonl" ] && "$PY" - "$1/metrics.jsonl" "$2" <<'PYEOF'
import json, sys
steps = [json.loads(l).get("step", 0) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if steps and max(steps) >= int(sys.argv[2]) else 1)
PYEOF
    then return 0; fi
    sleep 0.1
  done
  fail "$1 did not reach step $2 within 120 s"
}

# The CPU variant of the 1-node script with 2 tasks: submit ARGS... (the recipe and its options).
submit() {
  SATCLIP_DEVICE=cpu sbatch --parsable --ntasks-per-node=2 --gpus-per-node=0 --cpus-per-task=1 \
    --output="$WORK/job-%j.out" "$SATCLIP_HOME/slurm/satclip-1node.sbatch" "$@"
}
