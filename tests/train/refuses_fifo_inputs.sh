#!/usr/bin/env bash
# Usage: refuses_fifo_inputs.sh BIN_DIR WORK_DIR RECIPE WEIGHTS COORDS
# Every satclip program refuses a FIFO (named pipe) given where it reads a file, at once and with
# an error naming it: the recipe, an index CSV, a manifest, a shard (opened, verified, upgraded,
# trained on), weights and a coordinates CSV. Nothing here ever writes to a FIFO, so a reader
# that opened one by name would wait forever; each run gets 30 s. A folder in place of the recipe
# is refused the same way. RECIPE is a small recipe, WEIGHTS a state dict and COORDS a lat,lon CSV
# that work.
set -u
bin=$(realpath "$1") work=$(realpath -m "$2") recipe=$(realpath "$3") weights=$(realpath "$4") coords=$(realpath "$5")
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
status=0

# expect NAME RC TEXT COMMAND...: COMMAND ends within 30 s with exit status RC, and its output
# holds TEXT (a fixed string).
expect() {
  local name=$1 want=$2 text=$3
  shift 3
  local out rc
  out=$(timeout 30 "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $want; 124 is a hang), output without '$text':"
    echo "${out:0:600}"
    status=1
  else
    echo "ok   $name: $(grep -m1 -F -- "$text" <<<"$out" | cut -c1-150)"
  fi
}

"$bin/satclip-synth" --count 8 --size 16 --shards 2 --out shards > /dev/null || { echo "satclip-synth failed"; exit 1; }
mkfifo pipe.yaml pipe.csv pipe.pt
mkdir folder.yaml
cp -r shards fifo-manifest && rm fifo-manifest/manifest.json && mkfifo fifo-manifest/manifest.json
cp -r shards fifo-shard && rm fifo-shard/shard-1-of-2.h5 && mkfifo fifo-shard/shard-1-of-2.h5
fifo="a FIFO (named pipe), expected"

expect "recipe" 2 "pipe.yaml: $fifo the recipe file" "$bin/satclip-recipe" check pipe.yaml
expect "recipe folder" 2 "folder.yaml: a folder, expected the recipe file" "$bin/satclip-recipe" check folder.yaml
expect "ddp recipe" 1 "pipe.yaml: $fifo the recipe file" "$bin/satclip-ddp" pipe.yaml --dry-run
expect "index" 2 "pipe.csv: $fifo the index" "$bin/satclip-pack" --index pipe.csv --images . --out packed
expect "verify manifest" 2 "fifo-manifest/manifest.json: $fifo the manifest" \
  "$bin/satclip-pack" --verify fifo-manifest
# --verify reads each shard in a child with a 600 s deadline; the FIFO must not need it.
expect "verify shard" 2 "FAILED  fifo-shard/shard-1-of-2.h5: $fifo a shard" "$bin/satclip-pack" --verify fifo-shard
expect "upgrade shard" 2 "fifo-shard/shard-1-of-2.h5: $fifo a shard" "$bin/satclip-pack" --upgrade fifo-shard
expect "train on shard" 1 "fifo-shard/shard-1-of-2.h5: $fifo a shard" \
  "$bin/satclip-ddp" "$recipe" --set data.path="$work/fifo-shard" --set output.dir="$work/run" --dry-run
expect "weights" 2 "pipe.pt: $fifo the weights file" \
  "$bin/satclip-embed" --checkpoint pipe.pt --coords "$coords" --out out.csv --device cpu
expect "coordinates" 2 "pipe.csv: $fifo the coordinates file" \
  "$bin/satclip-embed" --checkpoint "$weights" --coords pipe.csv --out out.csv --device cpu
[ ! -e out.csv ] || { echo "FAIL: out.csv was written"; status=1; }
exit $status
