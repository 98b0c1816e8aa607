#!/usr/bin/env bash
# Data-path benchmarks; prints markdown. Needs ~20 GB free under WORK (default /tmp/satclip-bench).
#   (a) Loader on >= 2000 packed 256-px tiles, 2 worker threads, against `cat` of the same shard
#       bytes from the page cache; (b) against one-GeoTIFF-at-a-time GDAL reads (the seed's way);
#   (c) compression none / gzip / szip: size and loader throughput; (d) packer peak memory at
#   1000 and 5000 tiles.
# Usage: tests/bench/run_data_benchmarks.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${SATCLIP_BUILD_DIR:-$root/build}}
work=${WORK:-/tmp/satclip-bench}
n=${TILES:-2000}
synth=$build/core/apps/satclip-synth pack=$build/core/apps/satclip-pack bench=$build/tests/bench/bench_loader
mkdir -p "$work"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB RAM; $(date -u +%F)"
[ -f "$work/src5000/index.csv" ] || "$synth" --count 5000 --size 256 --out "$work/src5000" > /dev/null
head -n $((n + 1)) "$work/src5000/index.csv" > "$work/index$n.csv"
head -n 1001 "$work/src5000/index.csv" > "$work/index1000.csv"

echo
echo "### (c) compression: $n tiles of 12 x 256 x 256 uint16, 4 shards"
echo "| compression | shard bytes | pack time (s) | loader tiles/s (2 threads) | loader MB/s |"
echo "|---|---:|---:|---:|---:|"
for c in none gzip szip; do
  rm -rf "$work/p-$c"
  t0=$(date +%s.%N)
  "$pack" --index "$work/index$n.csv" --images "$work/src5000/images" --out "$work/p-$c" --shards 4 \
          --compression $c --progress lines > "$work/pack-$c.log" 2>&1
  t=$(echo "$(date +%s.%N) - $t0" | bc)
  bytes=$(du -cb "$work/p-$c"/*.h5 | tail -1 | cut -f1)
  cat "$work/p-$c"/*.h5 > /dev/null
  line=$("$bench" shards "$work/p-$c" --workers 2)
  echo "| $c | $bytes | $(printf %.1f "$t") | $(echo "$line" | sed -E 's/.* ([0-9]+) tiles\/s.*/\1/') | $(echo "$line" | sed -E 's/.* ([0-9]+) MB\/s/\1/') |"
done

echo
echo "### (a, b) uncompressed loader against raw reads and per-tile GDAL"
cat "$work/p-none"/*.h5 > /dev/null; cat "$work/p-none"/*.h5 > /dev/null
bytes=$(du -cb "$work/p-none"/*.h5 | tail -1 | cut -f1)
t0=$(date +%s.%N); cat "$work/p-none"/*.h5 > /dev/null; t=$(echo "$(date +%s.%N) - $t0" | bc)
echo "- \`cat\` of the $n-tile shards ($bytes bytes) from the page cache to /dev/null (through one small, cache-resident buffer): $(printf %.3f "$t") s, $(echo "$bytes / 1048576 / $t" | bc) MB/s"
echo "- $("$bench" raw "$work/p-none" --workers 2)"
echo "- $("$bench" shards "$work/p-none" --workers 2 --epochs 5)"
echo "- $("$bench" raw "$work/p-none" --workers 1)"
echo "- $("$bench" shards "$work/p-none" --workers 1 --epochs 5)"
echo "- $("$bench" geotiff "$work/index$n.csv" "$work/src5000/images" --limit 500)"

echo
echo "### HDF5 lock: loader scaling from 1 to 2 threads on compressed shards"
for c in gzip szip; do
  for w in 1 2; do echo "- $("$bench" shards "$work/p-$c" --workers $w --epochs 2)"; done
done

echo
echo "### (d) packer peak memory (uncompressed, 2 threads)"
for k in 1000 5000; do
  idx=$work/index$k.csv; [ $k -eq 5000 ] && idx=$work/src5000/index.csv
  rm -rf "$work/m$k"
  mem=$("$pack" --index "$idx" --images "$work/src5000/images" --out "$work/m$k" --shards 4 --threads 2 \
          --progress lines 2>/dev/null | sed -n 's/^peak memory //p')
  echo "- $k tiles: peak memory $mem"
  rm -rf "$work/m$k"
done
