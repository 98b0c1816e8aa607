#!/usr/bin/env bash
# Shard compression, side by side: bytes per tile, pack time, loader tiles/s per core (1 worker)
# and with 2 workers from the page cache, and from disk (cached pages dropped: bench_loader cold).
# Prints markdown with a header line (machine, date, commit).
#   tests/bench/bench_compression.sh [BUILD_DIR]     env: TILES (default 2000), WORK, CODECS
# Needs about 10 GB free under WORK (default /tmp/satclip-bench-compression) for 2000 tiles.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${SATCLIP_BUILD_DIR:-$root/build}}
work=${WORK:-/tmp/satclip-bench-compression}
n=${TILES:-2000}
codecs=${CODECS:-none gzip szip zstd:1 zstd:3 zstd:9}
synth=$build/core/apps/satclip-synth pack=$build/core/apps/satclip-pack bench=$build/tests/bench/bench_loader
mkdir -p "$work"
echo "*$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB RAM;" \
     "$(date -u +%F); commit $(git -C "$root" rev-parse --short HEAD); tests/bench/bench_compression.sh*"
echo
[ -f "$work/src/index.csv" ] && [ "$(($(wc -l < "$work/src/index.csv") - 1))" -eq "$n" ] ||
  { rm -rf "$work/src"; "$synth" --count "$n" --size 256 --out "$work/src" > /dev/null; }
raw=$((n * 12 * 256 * 256 * 2))
echo "$n synthetic tiles of 12 x 256 x 256 uint16 ($((raw / 1048576)) MiB raw), 4 shards; loader batch 64."
echo
echo "| compression | bytes per tile | ratio | pack time (s, 2 threads) | loader tiles/s, 1 worker (per core) | 2 workers | from disk, 2 workers (file MB/s) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for c in $codecs; do
  out="$work/p-${c/:/-}"
  rm -rf "$out"
  t0=$(date +%s.%N)
  "$pack" --index "$work/src/index.csv" --images "$work/src/images" --out "$out" --shards 4 --threads 2 \
          --compression "$c" --progress lines > "$work/pack.log" 2>&1
  t=$(echo "$(date +%s.%N) - $t0" | bc)
  bytes=$(du -cb "$out"/*.h5 | tail -1 | cut -f1)
  cat "$out"/*.h5 > /dev/null
  one=$("$bench" shards "$out" --workers 1 --epochs 3 | sed -E 's/.* ([0-9]+) tiles\/s.*/\1/')
  two=$("$bench" shards "$out" --workers 2 --epochs 3 | sed -E 's/.* ([0-9]+) tiles\/s.*/\1/')
  cold=$("$bench" cold "$out" --workers 2)
  disk=$(echo "$cold" | sed -E 's/.*from disk ([0-9]+) tiles\/s \(([0-9]+) MB\/s.*/\1 (\2)/')
  echo "| $c | $((bytes / n)) | $(printf %.2f "$(echo "scale=4; $raw / $bytes" | bc)") | $(printf %.1f "$t") | $one | $two | $disk |"
  [ "$c" = none ] || [ "$c" = "${KEEP:-}" ] || rm -rf "$out"
done
