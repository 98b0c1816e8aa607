#!/usr/bin/env bash
# GPU host check: builds with CUDA + NCCL (GDAL optional), runs the `gpu` tests (NCCL at world
# size 1, MPI with CUDA tensors at np 2, all_gather_with_grad and GradReducer on CUDA) and the
# CPU MPI tests, the trainer on CUDA, a checkpoint resume on CUDA, and writes a short summary to
# $OUT (or build-gpu/).
#
# The GPU host has no package registry: nothing is installed here. It uses the Python on PATH
# (torch with CUDA) unless SATCLIP_PYTHON says otherwise. See ../shared/reference/GPU_HOST.md.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SATCLIP_BUILD_DIR:-$root/build-gpu}
out=${OUT:-$build}
mkdir -p "$out"
summary=$out/gpu-check-summary.txt
python=${SATCLIP_PYTHON:-$(command -v python3)}
jobs=${SATCLIP_JOBS:-$(nproc)}
status=0
export GTEST_COLOR=no
say() { echo "$*" | tee -a "$summary"; }
: > "$summary"

say "== satclip-ddp GPU check, $(date -u '+%F %T') UTC, commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$summary"
say "python: $python ($("$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1))"

t0=$(date +%s)
if cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSATCLIP_PYTHON="$python" \
     -DSATCLIP_WITH_CUDA=ON -DSATCLIP_WITH_NCCL=ON -DSATCLIP_WITH_GDAL=AUTO \
     -DCMAKE_POLICY_VERSION_MINIMUM=3.5 > "$out/configure.log" 2>&1 &&
   cmake --build "$build" -j "$jobs" > "$out/build.log" 2>&1; then
  say "build: ok in $(( $(date +%s) - t0 )) s"
  grep -E "satclip: +(CUDA|NCCL|GDAL):" "$out/configure.log" | sed 's/^-- satclip: */configure: /' | tee -a "$summary"
else
  say "build: FAILED (see configure.log / build.log)"
  tail -n 40 "$out/configure.log" "$out/build.log" | tee -a "$summary"
  exit 1
fi

run_ctest() {  # label, log name (verbose, so skipped tests show in the log)
  local label=$1 log=$2
  ctest --test-dir "$build" -L "$label" -V --timeout 300 > "$out/$log" 2>&1
  local rc=$?
  say "ctest -L $label: $(grep -E 'tests passed|tests failed' "$out/$log" | tail -n 1) (exit $rc)"
  # Per GPU test case: how often it passed, was skipped or failed (over the np 1 / np 2 runs).
  [ "$label" = gpu ] &&
  grep -E "\[ +(OK|SKIPPED|FAILED) +\] [A-Za-z]" "$out/$log" | sed -E 's/^[0-9]+: //; s/ \([0-9]+ ms\)//' |
    sort | uniq -c | sed 's/^/    /' | tee -a "$summary"
  [ $rc -eq 0 ] || status=1
}
run_ctest gpu ctest-gpu.log
run_ctest "mpi|unit" ctest-cpu.log

# The trainer on CUDA: the quickstart recipe for a few hundred steps (fp32 and bf16 autocast; fp32
# also with libtorch's unfused AdamW), and the same model at batch 256; img/s of the last logged
# interval (steady state, no validation).
train_cuda() {  # name, extra --set arguments...
  local name=$1
  shift
  local dir=$build/train-$name
  rm -rf "$dir"
  if timeout 300 "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" --set "output.dir=$dir" \
       --set run.device=cuda --set train.max_steps=300 --set train.epochs=1000 --set train.log_every=100 \
       --set train.val_every_epochs=100000 "$@" > "$out/train-$name.log" 2>&1; then
    say "train $name: $(grep '"event":"train"' "$dir/metrics.jsonl" | tail -n 1 | sed -E 's/.*"step":([0-9]+).*"loss":([0-9.e-]+).*"img_per_s":([0-9.]+).*/step \1, loss \2, \3 img\/s/'); $(grep 'time per step' "$out/train-$name.log" | tail -n 1 | sed 's/.*time per step: /per step: /')"
  else
    say "train $name: FAILED"; tail -n 20 "$out/train-$name.log" | tee -a "$summary"; status=1
  fi
}
train_cuda quickstart-fp32 --set train.precision=fp32
train_cuda quickstart-fp32-adamw-unfused --set train.precision=fp32 --set optim.fused=off
train_cuda quickstart-bf16 --set train.precision=bf16
train_cuda quickstart-bf16-b256 --set train.precision=bf16 --set data.batch_size=256 --set data.workers=4

# Checkpoints on CUDA (CUDA generator states, device -> host copies): 40 steps with a checkpoint
# every 20, resumed from step 20 into another directory; the losses of steps 21..40 compared.
resume_cuda() {
  local a=$build/resume-a b=$build/resume-b
  rm -rf "$a" "$b"
  local common=(--set run.device=cuda --set train.max_steps=40 --set train.epochs=1000 --set train.log_every=1
                --set checkpoint.every_steps=20 --set train.val_every_epochs=100000)
  if timeout 300 "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" --set "output.dir=$a" "${common[@]}" \
       > "$out/resume-a.log" 2>&1 &&
     timeout 300 "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" --set "output.dir=$b" "${common[@]}" \
       --resume "$a/checkpoints/step-00000020" > "$out/resume-b.log" 2>&1; then
    say "resume on cuda: $("$python" - "$a" "$b" <<'PYEOF'
import json, sys
def losses(d):
    return {j["step"]: j["loss"] for j in map(json.loads, open(d + "/metrics.jsonl")) if j["event"] == "train"}
a, b = losses(sys.argv[1]), losses(sys.argv[2])
rel = max(abs(a[s] - b[s]) / abs(a[s]) for s in range(21, 41))
print(f"steps 21..40 max relative loss difference {rel:.2e} ({sum(a[s] == b[s] for s in range(21, 41))}/20 identical)")
PYEOF
)"
  else
    say "resume on cuda: FAILED"; tail -n 20 "$out/resume-a.log" "$out/resume-b.log" | tee -a "$summary"; status=1
  fi
}
resume_cuda
say "== result: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
