# gpu-check part "determinism", sourced by scripts/gpu-check.sh (uses its build, logs, say, cpp_bench).
# Run-to-run and resume on CUDA, with and without train.deterministic: the quickstart recipe (ResNet18
# trained whole at 32 px, info_nce) with dropout 0.1 and CUDA graphs, 40 steps, a checkpoint every
# 20; per setting two uninterrupted runs and one resumed from the first's step 20, compared step by
# step (tests/bench/compare_runs.py: losses and the step-40 weights, bitwise). Then what the
# setting costs, model-only: bench_train's best seed and full fine-tuning configurations with it.
det_train() {  # name, extra arguments...
  local name=$1
  shift
  local dir=$build/det-$name
  rm -rf "$dir"
  if ! timeout 150 "$build/core/apps/satclip-ddp" "$root/recipes/quickstart.yaml" --set "output.dir=$dir" \
       --set run.device=$device --set model.dropout=0.1 --set train.cuda_graphs=true --set train.max_steps=40 \
       --set train.epochs=1000 --set train.log_every=1 --set checkpoint.every_steps=20 \
       --set train.val_every_epochs=100000 "$@" > "$logs/det-$name.log" 2>&1; then
    say "determinism $name: FAILED"; tail -n 15 "$logs/det-$name.log" | tee -a "$summary"; status=1
    return 1
  fi
}

determinism_part() {
  local t0=$(date +%s) mode
  for mode in false true; do
    det_train "$mode-a" --set train.deterministic=$mode &&
      det_train "$mode-b" --set train.deterministic=$mode &&
      det_train "$mode-resumed" --set train.deterministic=$mode --resume "$build/det-$mode-a/checkpoints/step-00000020" ||
      continue
    "$python" "$root/tests/bench/compare_runs.py" "$build/det-$mode-a" "$build/det-$mode-b" "$build/det-$mode-resumed" \
      2>&1 | sed "s/^/train.deterministic $mode, /" | tee -a "$summary"
  done
  cpp_bench "seed bf16 graphs" --set train.precision=bf16 --set train.cuda_graphs=true
  cpp_bench "seed bf16 graphs deterministic" --set train.precision=bf16 --set train.cuda_graphs=true \
    --set train.deterministic=true
  cpp_bench "full bf16 graphs" --set model.freeze_image_encoder=false --batch 256 --set train.precision=bf16 \
    --set train.cuda_graphs=true
  cpp_bench "full bf16 graphs deterministic" --set model.freeze_image_encoder=false --batch 256 \
    --set train.precision=bf16 --set train.cuda_graphs=true --set train.deterministic=true
  grep -E "^bench_train .*cuda_graphs on" "$bench" | tail -n 4 | tee -a "$summary"
  say "determinism: $(( $(date +%s) - t0 )) s"
}
