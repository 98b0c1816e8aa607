# gpu-check part "vit", sourced by scripts/gpu-check.sh (uses its build, logs, say, cpp_bench, cache_synth).
# The ViT-S/16 image encoder (SatCLIP's ViT16 backbone): our training step, frozen (batch 160) and
# whole (batch 256), bf16, eager and with CUDA graphs, against eager PyTorch on the same model
# (timm's vit_small_patch16_224 with 13 bands in the seed model); then the image-embedding
# throughput of a SatCLIP ViT16 model in its released format (recipes/satclip-vit16-l40.yaml,
# random weights, one step, exported with satclip-export --format satclip) with satclip-embed
# --shards over SATCLIP_VIT_TILES (default 4800) tiles of 224 px listed SATCLIP_VIT_REPEAT times
# (default 21: 100,800 tiles, so that the start-up weighs little; repeat_shards in cache.sh),
# against the encoder's forward pass alone (bench_train --encode).
vit_part() {
  local t0=$(date +%s) n=${SATCLIP_VIT_TILES:-4800} g
  local syn=$build/synthetic-224-$n
  local vit=(--set model.image_encoder=vit_s16 --set train.precision=bf16)
  for g in false true; do
    cpp_bench "vit seed bf16 graphs=$g" "${vit[@]}" --set train.cuda_graphs=$g
    cpp_bench "vit full bf16 graphs=$g" "${vit[@]}" --set model.freeze_image_encoder=false --batch 256 --set train.cuda_graphs=$g
  done
  timeout 240 "$python" "$root/tests/bench/bench_train_pytorch.py" --encoder vit_s16 --steps "$steps" --warmup 10 \
    --config seed-fp32 --config seed-bf16 --config full-fp32 --config full-bf16 >> "$bench" 2>&1 ||
    { say "bench_train_pytorch.py --encoder vit_s16: FAILED"; status=1; }
  grep -E "^(bench_train|pytorch) .*vit" "$bench" | tee -a "$summary"
  "$python" "$root/tests/bench/compare_train.py" "$bench" --gpu "$gpu" > "$out/bench-table.md" 2>&1
  grep -E "ViT-S/16.*x$" "$out/bench-table.md" | tee -a "$summary"

  timeout 120 "$build/tests/bench/bench_train" "$root/recipes/satclip-vit16-l40.yaml" "${no_weights[@]}" --encode \
    --batch 512 --set train.precision=fp32 --steps 20 --warmup 5 >> "$bench" 2>&1
  grep "^bench_train .*--encode" "$bench" | tail -n 1 | tee -a "$summary"
  cache_synth "$syn" "$n" 224 8 || return 1
  local dir=$build/vit16-run
  rm -rf "$dir"
  if timeout 180 "$build/core/apps/satclip-ddp" "$root/recipes/satclip-vit16-l40.yaml" "${no_weights[@]}" \
       --set "data.path=$syn" --set "output.dir=$dir" --set run.device=$device --set train.max_steps=1 \
       --set train.grad_accum=1 --set data.batch_size=16 --set data.val_fraction=0 > "$logs/vit16-run.log" 2>&1 &&
     "$build/core/apps/satclip-export" --checkpoint "$dir" --format satclip --out "$build/vit16.ckpt" \
       > "$logs/vit16-export.log" 2>&1; then
    local view=$build/vit-view tiles
    rm -rf "$view"
    tiles=$(repeat_shards "$syn" "$view" "${SATCLIP_VIT_REPEAT:-21}") || { say "vit: repeat_shards FAILED"; status=1; return 1; }
    local s0=$(date +%s.%N)
    if timeout 300 "$build/core/apps/satclip-embed" --checkpoint "$build/vit16.ckpt" --shards "$view" \
         --recipe "$root/recipes/satclip-vit16-l40.yaml" --stage encoder --device $device --out "$build/vit16-embed.h5" \
         > "$logs/vit16-embed.log" 2>&1; then
      say "satclip-embed --shards, ViT16 (released format): $tiles tiles in $("$python" -c "d = $(date +%s.%N) - $s0; print(f'{d:.1f} s, {$tiles / d:.0f} tiles/s, start-up included')")"
      tail -n 3 "$logs/vit16-embed.log" | tee -a "$summary"
    else
      say "satclip-embed ViT16: FAILED"; tail -n 10 "$logs/vit16-embed.log" | tee -a "$summary"; status=1
    fi
  else
    say "ViT16 model for satclip-embed: FAILED"; tail -n 10 "$logs/vit16-run.log" "$logs/vit16-export.log" | tee -a "$summary"
    status=1
  fi
  say "vit: $(( $(date +%s) - t0 )) s"
}
