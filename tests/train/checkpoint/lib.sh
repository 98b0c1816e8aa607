# Shared by the checkpoint tests (sourced). The test sets, through ctest's environment:
#   DDP, EXPORT   the satclip-ddp and satclip-export binaries
#   MPIEXEC       mpiexec;  PY  a python3;  RECIPE  tests/train/data/resume.yaml
#   WORK          a scratch folder of this test (emptied first)
set -u
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }
: "${DDP:?}" "${EXPORT:?}" "${MPIEXEC:?}" "${PY:?}" "${RECIPE:?}" "${WORK:?}"
rm -rf "$WORK" && mkdir -p "$WORK"
source "$(dirname "${BASH_SOURCE[0]}")/../../support/tidy_on_success.sh"

# run NP DIR [ARGS...]: satclip-ddp on RECIPE into DIR (log: DIR.log); returns its exit status.
run() {
  local np=$1 dir=$2
  shift 2
  timeout 300 "$MPIEXEC" -n "$np" "$DDP" "$RECIPE" --set "output.dir=$dir" "$@" >"$dir.log" 2>&1
}

# start NP DIR [ARGS...]: the same in the background; the mpiexec pid is in $job.
start() {
  local np=$1 dir=$2
  shift 2
  timeout 300 "$MPIEXEC" -n "$np" "$DDP" "$RECIPE" --set "output.dir=$dir" "$@" >"$dir.log" 2>&1 &
  job=$!
}

# wait_step DIR N [SECONDS] (tests/support/wait_step.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../../support/wait_step.sh"

# ranks DIR: the pids of the satclip-ddp processes writing into DIR, rank 0 first.
ranks() { pgrep -f -- "output.dir=$1( |\$)" | while read -r p; do
  [ "$(cat /proc/$p/comm 2>/dev/null)" = "satclip-ddp" ] && echo "$p"; done | sort -n; }

# same_losses A B FROM TO: the train losses of steps FROM..TO are identical in both runs.
same_losses() {
  "$PY" - "$@" <<'PYEOF' || fail "losses differ (see above)"
import json, sys
a, b, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def losses(d):
    return {j["step"]: j["loss"] for j in map(json.loads, open(d + "/metrics.jsonl")) if j["event"] == "train"}
la, lb = losses(a), losses(b)
bad = [(s, la.get(s), lb.get(s)) for s in range(lo, hi + 1) if s not in la or s not in lb or la[s] != lb[s]]
for s, x, y in bad[:5]:
    print(f"step {s}: {x} vs {y}")
print(f"steps {lo}..{hi}: {hi - lo + 1 - len(bad)} identical losses, {len(bad)} different or missing")
sys.exit(1 if bad else 0)
PYEOF
}

# same_files A B: byte-identical files (the checkpoint writer is deterministic).
same_files() { cmp "$1" "$2" >/dev/null || fail "$1 and $2 differ"; }
