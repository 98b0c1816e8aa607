#!/usr/bin/env bash
# GPU host check, one run of a few minutes (see ../shared/reference/GPU_HOST.md): builds the GPU
# targets with CUDA + NCCL, then, most important first, writing as it goes to $OUT (or build-gpu/):
#   1. benchmarks: bench_train (C++) vs bench_train_pytorch.py on the same GPU, seed config
#      (frozen ResNet18, batch 160) and full fine-tuning (batch 256), fp32 and bf16 -> bench.txt;
#   2. the `gpu` tests (NCCL at world size 1, MPI with CUDA tensors at np 2, model, loader, fused
#      AdamW, CUDA-graph step, channels-last);
#   3. the host-to-device copy bandwidth, the transforms alone, the loader alone, and end-to-end from HDF5 shards
#      (satclip-synth, fits the page cache; five epochs of 30 steps, measured over the last four)
#      vs the model-only step, also with the old data.prefetch of 4 and with train.host_sync: step
#      for comparison;
#   4. the trainer on CUDA (quickstart recipe: fp32 with CUDA graphs, also with train.grad_accum 2,
#      bf16, fp32 with libtorch's unfused AdamW) and a checkpoint resume on CUDA.
# Further parts, each in scripts/gpu-check.d/<part>.sh (its header says what it measures):
#   determinism  two runs and a resume, with and without train.deterministic, compared bitwise;
#   cache        the feature cache's build at full size and cached epochs at 100k tiles;
#   loader       bench_loader against the trainer's loader threads, same shards, same job;
#   compile      our step against torch.compile (max-autotune) of the PyTorch twin;
#   vit          the ViT-S/16 step against eager PyTorch, and satclip-embed --shards with a ViT16 model.
# SATCLIP_GPU_CHECK_PARTS picks parts (default "bench ctest e2e train"); the build takes about 5 of
# a device call's 10 minutes, so pick what fits the rest, e.g. "determinism cache" in one call and
# "loader compile vit" in another. A device call returns at most 8 files, so $OUT holds
# gpu-check-summary.txt, bench.txt, bench-table.md and logs.tgz (every log, repacked after each
# part, so a run cut short still returns what it did).
# The GPU host has no package registry. geoclip (for the PyTorch twin) comes as wheels in .whl/
# when present (scripts/gpu-wheels.sh fetches them here; the device call carries .whl);
# SATCLIP_PYTHON picks the Python with torch (default python3).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SATCLIP_BUILD_DIR:-$root/build-gpu}
out=${OUT:-$build}
logs=$build/logs
mkdir -p "$out" "$build" "$logs"
summary=$out/gpu-check-summary.txt
parts=" ${SATCLIP_GPU_CHECK_PARTS:-bench ctest e2e train} "
want() { [[ $parts == *" $1 "* ]]; }
pack() { [ "$out" = "$build" ] || tar czf "$out/logs.tgz" -C "$logs" . 2> /dev/null; }
python=${SATCLIP_PYTHON:-$(command -v python3)}
jobs=${SATCLIP_JOBS:-$(nproc)}
steps=${SATCLIP_BENCH_STEPS:-30}
device=${SATCLIP_GPU_CHECK_DEVICE:-cuda}  # the further parts' device: cpu to try their flow without a GPU
status=0
export GTEST_COLOR=no OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
say() { echo "$*" | tee -a "$summary"; }
: > "$summary"

say "== satclip-ddp GPU check, $(date -u '+%F %T') UTC, commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$summary"
if ls "$root"/.whl/*.whl > /dev/null 2>&1; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$root"/.whl/*.whl \
    > "$logs/pip.log" 2>&1 && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
say "python: $python ($("$python" -c 'import torch, timm; print("torch", torch.__version__, "cuda", torch.version.cuda, "timm", timm.__version__)' 2>&1 | tail -n 1); geoclip: $("$python" -c 'import geoclip; print("yes")' 2>&1 | tail -n 1))"

# The project's own kernel (datasets/bands_kernel.cu) for this GPU's architecture, e.g. 9.0 -> 90.
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
t0=$(date +%s)
targets=(satclip-ddp satclip-synth bench_train bench_loader bench_transforms)
want vit && targets+=(satclip-export satclip-embed)
want ctest && targets+=(${SATCLIP_GPU_TESTS:-test_gpu test_gpu_model test_gpu_loader test_gpu_optim test_gpu_step})
if cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSATCLIP_PYTHON="$python" \
     -DSATCLIP_WITH_CUDA=ON -DSATCLIP_WITH_NCCL=ON -DSATCLIP_WITH_GDAL=AUTO \
     -DCMAKE_POLICY_VERSION_MINIMUM=3.5 ${arch:+-DCMAKE_CUDA_ARCHITECTURES=$arch} > "$logs/configure.log" 2>&1 &&
   cmake --build "$build" -j "$jobs" --target "${targets[@]}" > "$logs/build.log" 2>&1; then
  say "build: ok in $(( $(date +%s) - t0 )) s (${targets[*]})"
  grep -E "satclip: +(CUDA|NCCL|GDAL):" "$logs/configure.log" | sed 's/^-- satclip: */configure: /' | tee -a "$summary"
else
  say "build: FAILED (see configure.log / build.log)"
  tail -n 40 "$logs/configure.log" "$logs/build.log" | tee -a "$summary"
  pack
  exit 1
fi

# 1. Model-step benchmarks, C++ and PyTorch on the same GPU, one after the other.
bench=$out/bench.txt
: > "$bench"
no_weights=(--set model.image_weights= --set model.location_weights=)
cpp_bench() {  # label, extra arguments...
  local label=$1
  shift
  if ! timeout 120 "$build/tests/bench/bench_train" "$root/recipes/toysatclip.yaml" "${no_weights[@]}" \
       --steps "$steps" --warmup 10 "$@" >> "$bench" 2>&1; then
    say "bench_train $label: FAILED"; tail -n 5 "$bench" | tee -a "$summary"; status=1
  fi
}
bench_part() {
t0=$(date +%s)
for p in fp32 bf16; do
  for g in false true; do
    cpp_bench "seed $p graphs=$g" --set train.precision=$p --set train.cuda_graphs=$g
  done
done
full=(--set model.freeze_image_encoder=false --batch 256)
cpp_bench "full bf16 eager" "${full[@]}" --set train.precision=bf16
cpp_bench "full bf16 graphs" "${full[@]}" --set train.precision=bf16 --set train.cuda_graphs=true
cpp_bench "full fp32 graphs" "${full[@]}" --set train.precision=fp32 --set train.cuda_graphs=true
if ! timeout 240 "$python" "$root/tests/bench/bench_train_pytorch.py" --steps "$steps" --warmup 10 \
     --config seed-fp32 --config seed-bf16 --config full-fp32 --config full-bf16 >> "$bench" 2>&1; then
  say "bench_train_pytorch.py: FAILED"; tail -n 5 "$bench" | tee -a "$summary"; status=1
fi
say "benchmarks: $(( $(date +%s) - t0 )) s"
grep -E "^(bench_train|pytorch) " "$bench" | tee -a "$summary"
"$python" "$root/tests/bench/compare_train.py" "$bench" --gpu "$gpu" > "$out/bench-table.md" 2>&1
tee -a "$summary" < "$out/bench-table.md"
}
want bench && bench_part
pack

# 2. The gpu-label tests (verbose, so skipped tests show in the log).
ctest_part() {
  local only=()
  [ -n "${SATCLIP_GPU_TESTS:-}" ] && only=(-R "^($(echo $SATCLIP_GPU_TESTS | tr ' ' '|'))")
  ctest --test-dir "$build" -L gpu "${only[@]}" -V --timeout 180 > "$logs/ctest-gpu.log" 2>&1
  local rc=$?
  say "ctest -L gpu: $(grep -E 'tests passed|tests failed' "$logs/ctest-gpu.log" | tail -n 1) (exit $rc)"
  grep -E "\[ +(OK|SKIPPED|FAILED) +\] [A-Za-z]" "$logs/ctest-gpu.log" | sed -E 's/^[0-9]+: //; s/ \([0-9]+ ms\)//' |
    sort | uniq -c | sed 's/^/    /' | tee -a "$summary"
  grep -E "Failure|Expected|actual|evaluates to|^[0-9]+: (cuda graph|channels last)" "$logs/ctest-gpu.log" | head -n 30 |
    tee -a "$summary"
  [ $rc -eq 0 ] || status=1
}
want ctest && ctest_part
pack

# 3. End-to-end: the trainer on packed synthetic shards (224 px, in the page cache), seed recipe
#    without the feature cache (every step reads, copies and encodes its tiles), vs bench_train.
e2e() {  # precision, cuda_graphs, data.prefetch (auto, or a count to compare with), train.host_sync
  local name=e2e-$1-$2-prefetch$3-sync$4
  local dir=$build/$name
  rm -rf "$dir"
  if timeout 180 "$build/core/apps/satclip-ddp" "$root/recipes/toysatclip.yaml" "${no_weights[@]}" \
       --set "data.path=$syn" --set data.feature_cache=off --set data.val_fraction=0 --set "output.dir=$dir" \
       --set run.device=cuda --set train.precision="$1" --set train.cuda_graphs="$2" --set data.prefetch="$3" --set train.host_sync="$4" \
       --set train.max_steps=150 --set train.epochs=1000 --set train.log_every=30 --set checkpoint.every_steps=0 --set checkpoint.every_epochs=0 \
       > "$logs/$name.log" 2>&1; then
    local rate workers ahead
    # Steps 31-150: four whole epochs of 30 steps after the first (which holds the warm-up and the
    # capture), each with its boundary. No epoch-end checkpoints: an S2-100k epoch at batch 160 is
    # 625 steps, so one every 30 steps would weigh 20x what it does in a real run.
    rate=$("$python" - "$dir/metrics.jsonl" <<'PYEOF'
import json, sys
t = {j["step"]: j["time_s"] for j in map(json.loads, open(sys.argv[1])) if j["event"] == "train"}
print(f"{120 * 160 / (t[150] - t[30]):.1f}" if 30 in t and 150 in t and t[150] > t[30] else "0")
PYEOF
)
    workers=$(grep -o '[0-9]* loader threads' "$logs/$name.log" | head -n 1 | cut -d' ' -f1)
    ahead=$(grep -o '[0-9]* batches ahead' "$logs/$name.log" | head -n 1 | cut -d' ' -f1)
    echo "RESULT {\"impl\":\"e2e\",\"batch\":160,\"frozen\":true,\"precision\":\"$1\",\"cuda_graphs\":$2,\"workers\":${workers:-0},\"prefetch\":${ahead:-0},\"host_sync\":\"$4\",\"img_per_s\":${rate:-0}}" >> "$logs/e2e.txt"
    say "end-to-end $1 graphs=$2 prefetch=$3 host_sync=$4 (${workers:-?} threads, ${ahead:-?} ahead): steps 31-150 $rate img/s; $(grep 'time per step' "$logs/$name.log" | tail -n 1 | sed 's/.*time per step: /per step: /')"
  else
    say "end-to-end $1 graphs=$2 prefetch=$3 host_sync=$4: FAILED"; tail -n 15 "$logs/$name.log" | tee -a "$summary"; status=1
  fi
}
e2e_part() {
# The host-to-device link: pinned copies of one batch's pixels (160 x 12 x 224 x 224 uint16).
say "host-to-device copy: $("$python" - <<'PYEOF' 2>&1 | tail -n 1
import time, torch
x = torch.empty(160 * 12 * 224 * 224, dtype=torch.int16).pin_memory()
y = torch.empty_like(x, device="cuda")
for _ in range(3): y.copy_(x, non_blocking=True)
torch.cuda.synchronize(); t = time.perf_counter()
for _ in range(20): y.copy_(x, non_blocking=True)
torch.cuda.synchronize(); dt = (time.perf_counter() - t) / 20
print(f"{x.numel() * 2 / 1e6:.0f} MB pinned -> GPU in {dt * 1e3:.2f} ms: {x.numel() * 2 / dt / 1e9:.1f} GB/s")
PYEOF
)"
# The transforms alone (scaling + band layout of one batch, each method and memory format).
local layout
for layout in "seed --scaling normalize" "satclip --scaling divide10000"; do
  "$build/tests/bench/bench_transforms" --layout $layout 2>&1 | sed 's/^bench_transforms /transforms: /' | tee -a "$summary"
done
syn=$build/synthetic-224
t0=$(date +%s)
rm -rf "$syn"
if timeout 180 "$build/core/apps/satclip-synth" --count 4800 --size 224 --shards 8 --out "$syn" > "$logs/synth.log" 2>&1; then
  say "synthetic shards: 4800 tiles of 224 px, $(du -sh "$syn" | cut -f1), written in $(( $(date +%s) - t0 )) s"
  # The loader alone on these shards, as many threads as data.workers: auto gives one rank here.
  local w=$(( $(nproc) - 1 )); [ $w -gt 16 ] && w=16
  # One loader for the run, as the trainer keeps one, measured over 4 epochs after its warm-up
  # (until an epoch allocates no new page-locked buffer). Raw pread() of the same files bounds
  # what any loader can do.
  say "loader alone: $("$build/tests/bench/bench_loader" shards "$syn" --workers $w --batch 160 --epochs 5 2>&1 | tail -n 1)"
  say "loader alone: $("$build/tests/bench/bench_loader" shards "$syn" --workers 1 --batch 160 --epochs 5 2>&1 | tail -n 1)"
  say "page cache: $("$build/tests/bench/bench_loader" raw "$syn" --workers $w --batch 160 2>&1 | tail -n 1)"
  : > "$logs/e2e.txt"
  local c
  # precision:cuda_graphs[:data.prefetch[:train.host_sync]], both last default to auto.
  for c in ${SATCLIP_E2E_CONFIGS:-bf16:true:auto:auto fp32:true:auto:auto bf16:true:4:auto bf16:true:auto:step}; do
    local precision graphs prefetch sync
    IFS=: read -r precision graphs prefetch sync <<< "$c"
    prefetch=${prefetch:-auto} sync=${sync:-auto}
    # The model-only figure of the same settings, in this job (when the bench part did not run).
    want bench || [ "$prefetch" != auto ] ||
      cpp_bench "seed $precision graphs=$graphs" --set train.precision=$precision --set train.cuda_graphs=$graphs
    e2e "$precision" "$graphs" "$prefetch" "$sync"
  done
  "$python" "$root/tests/bench/compare_train.py" "$bench" --end-to-end "$logs/e2e.txt" --gpu "$gpu" > "$out/bench-table.md" 2>&1
  grep "end-to-end" "$out/bench-table.md" | tee -a "$summary"
else
  say "satclip-synth: FAILED"; tail -n 10 "$logs/synth.log" | tee -a "$summary"; status=1
fi
}
want e2e && e2e_part
pack

# 4. The trainer on CUDA: the quickstart recipe for 300 steps; img/s of the last logged interval.
train_cuda() {  # name, extra --set arguments...
  local name=$1
  shift
  local dir=$build/train-$name
  rm -rf "$dir"
  if timeout 150 "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" --set "output.dir=$dir" \
       --set run.device=cuda --set train.max_steps=300 --set train.epochs=1000 --set train.log_every=100 \
       --set train.val_every_epochs=100000 "$@" > "$logs/train-$name.log" 2>&1; then
    say "train $name: $(grep '"event":"train"' "$dir/metrics.jsonl" | tail -n 1 | sed -E 's/.*"step":([0-9]+).*"loss":([0-9.e-]+).*"img_per_s":([0-9.]+).*/step \1, loss \2, \3 img\/s/'); $(grep 'time per step' "$logs/train-$name.log" | tail -n 1 | sed 's/.*time per step: /per step: /')"
  else
    say "train $name: FAILED"; tail -n 20 "$logs/train-$name.log" | tee -a "$summary"; status=1
  fi
}
train_part() {
  train_cuda quickstart-fp32-graphs --set train.precision=fp32 --set train.cuda_graphs=true
  train_cuda quickstart-fp32-graphs-accum2 --set train.precision=fp32 --set train.cuda_graphs=true --set train.grad_accum=2
  train_cuda quickstart-fp32 --set train.precision=fp32
  train_cuda quickstart-bf16 --set train.precision=bf16
  train_cuda quickstart-fp32-adamw-unfused --set train.precision=fp32 --set optim.fused=off
  resume_cuda
}

# Checkpoints on CUDA with CUDA graphs: 40 steps with a checkpoint every 20, resumed from step 20
# into another directory; the losses of steps 21..40 compared.
resume_cuda() {
  local a=$build/resume-a b=$build/resume-b
  rm -rf "$a" "$b"
  local common=(--set run.device=cuda --set train.max_steps=40 --set train.epochs=1000 --set train.log_every=1
                --set checkpoint.every_steps=20 --set train.val_every_epochs=100000 --set train.cuda_graphs=true)
  if timeout 120 "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" --set "output.dir=$a" "${common[@]}" \
       > "$logs/resume-a.log" 2>&1 &&
     timeout 120 "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" --set "output.dir=$b" "${common[@]}" \
       --resume "$a/checkpoints/step-00000020" > "$logs/resume-b.log" 2>&1; then
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
    say "resume on cuda: FAILED"; tail -n 20 "$logs/resume-a.log" "$logs/resume-b.log" | tee -a "$summary"; status=1
  fi
}
want train && train_part
pack

# The further parts (their files only define functions).
for f in "$root"/scripts/gpu-check.d/*.sh; do source "$f"; done
for part in determinism cache loader compile vit; do
  want $part || continue
  ${part}_part
  pack
done
say "== result: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
