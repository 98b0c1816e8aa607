#!/usr/bin/env bash
# NCHW against NHWC (train.channels_last off / on) on the CPU: the seed recipe's training step
# (bench_train, recipes/toysatclip.yaml) with the ResNet18 frozen and trainable, at several image
# sizes; rounds alternate the two layouts. Prints markdown: images/s of each and their ratio (the
# median over the rounds). The evidence for train.channels_last: auto's CPU threshold.
#   tests/bench/bench_channels_last_cpu.sh [BUILD_DIR]
#   env: SIZES ("32 64 128 224"), BATCH (32), STEPS (4), ROUNDS (3)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${SATCLIP_BUILD_DIR:-$root/build}}
sizes=${SIZES:-32 64 128 224} batch=${BATCH:-32} steps=${STEPS:-4} rounds=${ROUNDS:-3}
echo "*$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F); commit" \
     "$(git -C "$root" rev-parse --short HEAD); tests/bench/bench_channels_last_cpu.sh*"
echo
echo "| image encoder | px | NCHW img/s | NHWC img/s | NHWC / NCHW |"
echo "|---|---:|---:|---:|---:|"
img_s() {  # img_s FROZEN SIZE LAYOUT
  "$build/tests/bench/bench_train" "$root/recipes/toysatclip.yaml" --device cpu --batch "$batch" --steps "$steps" \
    --warmup 2 --set model.image_weights= --set model.location_weights= --set "model.freeze_image_encoder=$1" \
    --set "data.image_size=$2" --set "train.channels_last=$3" | sed -n 's/^RESULT .*"img_per_s":\([0-9.]*\).*/\1/p'
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for frozen in true false; do
  for size in $sizes; do
    off=() on=() ratio=()
    for ((k = 0; k < rounds; ++k)); do
      a=$(img_s "$frozen" "$size" off) b=$(img_s "$frozen" "$size" on)
      off+=("$a") on+=("$b") ratio+=("$(echo "$b / $a" | bc -l)")
    done
    printf '| ResNet18 %s | %d | %.1f | %.1f | %.2f |\n' "$([ "$frozen" = true ] && echo frozen || echo trainable)" \
      "$size" "$(printf '%s\n' "${off[@]}" | median)" "$(printf '%s\n' "${on[@]}" | median)" \
      "$(printf '%s\n' "${ratio[@]}" | median)"
  done
done
