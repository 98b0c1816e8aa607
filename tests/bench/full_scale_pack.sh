#!/usr/bin/env bash
# satclip-pack at S2-100k's full size: 100,000 tiles of 12 x 256 x 256 uint16 (157 GB raw), with
# the chosen compression, on the machine it runs on. Prints markdown: wall time, tiles/s, peak
# memory (max RSS) and shard bytes for each part and in all.
#   tests/bench/full_scale_pack.sh [BUILD_DIR]
#   env: TILES (100000), DISTINCT (10000), PARTS (5), SHARDS (100), COMPRESSION (zstd), WORK
#
# The source: DISTINCT synthetic GeoTIFFs (satclip-synth), and an index of TILES records, each
# naming its own file: hard links to the distinct tiles, at distinct coordinates. Every record is
# read, decoded, checked, compressed and written as in a real pack; only the source bytes repeat
# (so they may come from the page cache, where a real pack reads 147 GiB from disk).
# With PARTS > 1 the pack runs as satclip-pack --part p/PARTS, one part after another, and each
# part's shards are measured and then deleted, so that a machine with less free disk than the
# whole dataset needs can still pack every tile.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${SATCLIP_BUILD_DIR:-$root/build}}
work=${WORK:-/tmp/satclip-full-scale}
tiles=${TILES:-100000} distinct=${DISTINCT:-10000} parts=${PARTS:-5} shards=${SHARDS:-100}
compression=${COMPRESSION:-zstd}
synth=$build/core/apps/satclip-synth pack=$build/core/apps/satclip-pack
mkdir -p "$work"
echo "*$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB RAM;" \
     "$(date -u +%F); commit $(git -C "$root" rev-parse --short HEAD); tests/bench/full_scale_pack.sh*"
echo
t0=$(date +%s.%N)
if [ ! -f "$work/src/index.csv" ]; then
  "$synth" --count "$distinct" --size 256 --out "$work/src" > /dev/null
fi
echo "- source: $distinct synthetic GeoTIFFs written in $(printf %.0f "$(echo "$(date +%s.%N) - $t0" | bc)") s," \
     "$(du -sb "$work/src/images" | cut -f1) bytes"
# The full index: copy r of distinct tile i is record r * distinct + i, 0.001 degree further north.
if [ "$(($(wc -l 2>/dev/null < "$work/index.csv" || echo 0) - 1))" -ne "$tiles" ]; then
  mkdir -p "$work/images"
  awk -F, -v tiles="$tiles" -v distinct="$distinct" -v src="$work/src/images" -v dst="$work/images" '
    NR == 1 { print; next }
    { row[NR - 2] = $0; lat[NR - 2] = $1 }
    END {
      for (j = 0; j < tiles; ++j) {
        i = j % distinct; r = int(j / distinct)
        split(row[i], f, ",")
        printf "%.6f,%s,%s,patch_%d.tif\n", f[1] * 0.9 + r * 0.001, f[2], f[3], j
        printf "%s/patch_%d.tif %s/patch_%d.tif\n", src, i, dst, j > "/dev/stderr"
      }
    }' "$work/src/index.csv" > "$work/index.csv" 2> "$work/links.txt"
  while read -r from to; do [ -e "$to" ] || ln "$from" "$to"; done < "$work/links.txt"
fi
echo "- index: $(($(wc -l < "$work/index.csv") - 1)) records; $shards shards, compression $compression," \
     "$parts part(s) one after another"
echo
echo "| part | tiles | wall time (s) | tiles/s | peak memory (MB) | shard bytes | bytes per tile |"
echo "|---|---:|---:|---:|---:|---:|---:|"
out="$work/out"
rm -rf "$out"
total_t=0 total_b=0 total_n=0 peak=0
for ((p = 0; p < parts; ++p)); do
  args=(--index "$work/index.csv" --images "$work/images" --out "$out" --shards "$shards"
        --compression "$compression" --progress lines)
  ((parts > 1)) && args+=(--part "$p/$parts")
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$pack" "${args[@]}" > "$work/pack-$p.log" 2>&1
  t=$(echo "$(date +%s.%N) - $t0" | bc)
  rss=$(($(cat "$work/rss") / 1024))
  bytes=$(du -cb "$out"/*.h5 | tail -1 | cut -f1)
  n=$(grep -oE '\(([0-9]+) tiles,|packed ([0-9]+) of' "$work/pack-$p.log" | grep -oE '[0-9]+' | head -1)
  echo "| $p/$parts | $n | $(printf %.0f "$t") | $(echo "$n / $t" | bc) | $rss | $bytes | $((bytes / n)) |"
  total_t=$(echo "$total_t + $t" | bc) total_b=$((total_b + bytes)) total_n=$((total_n + n))
  ((rss > peak)) && peak=$rss
  ((parts > 1)) && rm -f "$out"/*.h5
done
echo "| all | $total_n | $(printf %.0f "$total_t") | $(echo "$total_n / $total_t" | bc) | $peak | $total_b | $((total_b / total_n)) |"
