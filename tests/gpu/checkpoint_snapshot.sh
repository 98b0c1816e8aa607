#!/usr/bin/env bash
# A checkpoint's snapshot on CUDA (asynchronous copies into page-locked memory, one stream wait,
# then the writer thread serialises them): the quickstart recipe on the GPU with CUDA graphs, a
# checkpoint every 10 steps; the checkpoint after the last step (step 30) must hold bitwise the
# weights that last.pt holds, which is written after training from the device by the plain
# synchronous path. Skips (77) without a CUDA device. Environment: DDP, PY, RECIPE, WORK.
set -u
fail() { echo "FAIL: $*"; exit 1; }
: "${DDP:?}" "${PY:?}" "${RECIPE:?}" "${WORK:?}"
"$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 77)" || { echo "no CUDA device: skipped"; exit 77; }
rm -rf "$WORK" && mkdir -p "$WORK"
timeout 300 "$DDP" "$RECIPE" --set "output.dir=$WORK/run" --set run.device=cuda --set train.cuda_graphs=true \
  --set train.max_steps=30 --set train.epochs=1000 --set checkpoint.every_steps=10 --set checkpoint.keep=10 \
  --set train.val_every_epochs=100000 > "$WORK/run.log" 2>&1 || { tail -20 "$WORK/run.log"; fail "the CUDA run failed"; }
"$PY" - "$WORK/run/checkpoints" <<'PYEOF' || fail "the step-30 checkpoint differs from last.pt"
import sys, torch
root = sys.argv[1]
snap = torch.load(f"{root}/step-00000030/model.pt", map_location="cpu", weights_only=True)
last = torch.load(f"{root}/last.pt", map_location="cpu", weights_only=True)
same = [k for k in last if k in snap and torch.equal(snap[k], last[k])]
print(f"step-00000030/model.pt vs last.pt: {len(same)} of {len(last)} tensors bitwise equal ({len(snap)} in the snapshot)")
sys.exit(0 if len(same) == len(last) == len(snap) else 1)
PYEOF
rm -rf "$WORK/run/checkpoints"  # passed: the logs stay, the bulky checkpoints go
echo "PASS: the CUDA checkpoint snapshot holds the final weights bitwise"
