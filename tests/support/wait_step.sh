# wait_step DIR N [SECONDS]: until DIR/metrics.jsonl has a line at step >= N (default 60 s at
# most; then `fail`). Sourced by the checkpoint and SLURM test libraries; needs $PY and fail().
wait_step() {
  local tries=$((${3:-60} * 10))
  for _ in $(seq "$tries"); do
    if [ -f "$1/metrics.jsonl" ] && "$PY" - "$1/metrics.jsonl" "$2" <<'PYEOF'
import json, sys
steps = [json.loads(l).get("step", 0) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if steps and max(steps) >= int(sys.argv[2]) else 1)
PYEOF
    then return 0; fi
    sleep 0.1
  done
  fail "$1 did not reach step $2 within ${3:-60} s"
}
