#!/usr/bin/env bash
# Two builds side by side on this machine, alternating rounds so that drift hits both alike: the
# model step alone (bench_train: forward, loss, backward, AdamW on synthetic tensors, ms/step) and
# the whole trainer (satclip-ddp at np 1 on the synthetic sample: loader, step, reporting; img/s
# over steps 21-40), both on the quickstart recipe on the CPU. Medians over ROUNDS (default 9).
#   tests/bench/compare_builds.sh OLD NEW [ROUNDS]
# OLD and NEW: build folders, or folders holding the two programs bench_train and satclip-ddp.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
old=${1:?usage: compare_builds.sh OLD NEW [ROUNDS]}
new=${2:?usage: compare_builds.sh OLD NEW [ROUNDS]}
rounds=${3:-9}
find_bin() {  # find_bin DIR NAME
  local p
  for p in "$1/$2" "$1/tests/bench/$2" "$1/core/apps/$2"; do [ -x "$p" ] && { echo "$p"; return; }; done
  echo "compare_builds.sh: no $2 in $1" >&2; exit 2
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
recipe=$root/recipes/quickstart.yaml
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $rounds rounds"
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ddp() {  # ddp BIN DIR: img/s at step 40
  "$1" "$recipe" --set "output.dir=$2" --set train.max_steps=40 --set train.log_every=20 \
    --set train.val_every_epochs=1000 > "$2.log" 2>&1 || { tail -5 "$2.log"; exit 1; }
  grep '"event":"train".*"step":40,' "$2/metrics.jsonl" | sed -E 's/.*"img_per_s":([0-9.]+).*/\1/' |
    awk '{printf "%.1f\n", $1}'
}
ddp "$(find_bin "$new" satclip-ddp)" "$out/warm" > /dev/null  # writes the synthetic sample once
for r in $(seq "$rounds"); do
  for side in old new; do
    dir=${!side}
    "$(find_bin "$dir" bench_train)" "$recipe" --device cpu --steps 40 --warmup 5 |
      sed -nE 's/^RESULT .*"ms_per_step":([0-9.]+).*/\1/p' >> "$out/step-$side"
    ddp "$(find_bin "$dir" satclip-ddp)" "$out/run-$side-$r" >> "$out/ddp-$side"
  done
done
for what in step ddp; do
  o=$(median < "$out/$what-old"); n=$(median < "$out/$what-new")
  unit=$([ $what = step ] && echo "ms/step" || echo "img/s")
  label=$([ $what = step ] && echo "bench_train (model step)" || echo "satclip-ddp np 1 (trainer)")
  echo "$label: old $o $unit ($(xargs < "$out/$what-old")), new $n $unit ($(xargs < "$out/$what-new")); new/old $(echo "scale=4; $n / $o" | bc)"
done
