# gpu-check part "compile", sourced by scripts/gpu-check.sh (uses its build, logs, say, cpp_bench).
# Our step against what a PyTorch user would pick instead of eager: torch.compile (inductor) of the
# same model and step, in mode max-autotune (CUDA graphs, autotuned kernels; SATCLIP_COMPILE_MODES
# adds others, e.g. "max-autotune reduce-overhead"), with the fused AdamW, on the seed (frozen ResNet18, batch 160) and full
# fine-tuning (batch 256) configurations in bf16, beside bench_train's best C++ configurations and
# eager PyTorch, all in this job. Each compiled configuration runs in its own process with a time
# limit (SATCLIP_COMPILE_TIMEOUT, default 240 s): compilation, autotuning included, is part of its
# warm-up and printed as compile_s.
compile_part() {
  local t0=$(date +%s) mode config
  cpp_bench "seed bf16 graphs" --set train.precision=bf16 --set train.cuda_graphs=true
  cpp_bench "full bf16 graphs" --set model.freeze_image_encoder=false --batch 256 --set train.precision=bf16 \
    --set train.cuda_graphs=true
  timeout 240 "$python" "$root/tests/bench/bench_train_pytorch.py" --steps "$steps" --warmup 10 \
    --config seed-fp32 --config seed-bf16 --config full-bf16 >> "$bench" 2>&1 ||
    { say "bench_train_pytorch.py eager: FAILED"; status=1; }
  for mode in ${SATCLIP_COMPILE_MODES:-max-autotune}; do
    for config in seed-bf16 full-bf16; do
      if ! timeout "${SATCLIP_COMPILE_TIMEOUT:-240}" "$python" "$root/tests/bench/bench_train_pytorch.py" \
           --steps "$steps" --warmup 10 --compile "$mode" --optimizer fused --config "$config" \
           > "$logs/compile-$mode-$config.log" 2>&1; then
        say "torch.compile $mode $config: FAILED or over the time limit"; tail -n 5 "$logs/compile-$mode-$config.log" | tee -a "$summary"
        status=1
      fi
      grep -E "^(pytorch|RESULT)" "$logs/compile-$mode-$config.log" >> "$bench"
    done
  done
  grep -E "^pytorch .*torch.compile" "$bench" | tee -a "$summary"
  "$python" "$root/tests/bench/compare_train.py" "$bench" --gpu "$gpu" > "$out/bench-table.md" 2>&1
  grep -E "x$" "$out/bench-table.md" | tee -a "$summary"
  say "compile: $(( $(date +%s) - t0 )) s"
}
