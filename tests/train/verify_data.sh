#!/usr/bin/env bash
# data.verify with real ranks and real satclip-pack children (np 2): each rank verifies its part
# of the shards; a valid directory trains, and is not read again while unchanged; a truncated
# shard in rank 1's part stops both ranks with an error naming it; a satclip-ddp without
# satclip-pack beside it, or a folder without a manifest, is an error saying why it could not
# verify; satclip-embed and satclip-eval --verify check --shards the same way.
# Usage: verify_data.sh MPIEXEC SATCLIP_DDP SATCLIP_SYNTH RECIPE WORKDIR
set -u
mpi=$1 ddp=$2 synth=$3 recipe=$4 work=$5
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work" && mkdir -p "$work/bin" || fail "cannot make $work"
"$synth" --count 96 --size 16 --shards 4 --out "$work/good" > /dev/null || fail "satclip-synth"
common=(--set data.verify=true --set train.max_steps=2 --set data.val_fraction=0 --set checkpoint.every_steps=0)

# 1. A valid directory: rank 0 reads back shards 0 and 2, rank 1 shards 1 and 3, then training runs.
out=$(timeout 300 "$mpi" -n 2 "$ddp" "$recipe" --set "data.path=$work/good" --set "output.dir=$work/run-good" \
      "${common[@]}" 2>&1)
rc=$?
echo "$out" | grep "data.verify"
[ $rc -eq 0 ] || { echo "$out" | tail -n 20; fail "training on a valid directory exited $rc"; }
tiles=0
for part in 0 1; do
  line=$(echo "$out" | grep -o "2 shard(s) (part $part/2 of 4), [0-9]* tiles read back") ||
    fail "no verdict of part $part/2"
  tiles=$(( tiles + $(echo "$line" | sed -E 's/.*, ([0-9]+) tiles.*/\1/') ))
done
[ "$tiles" -eq 96 ] || fail "the two parts read back $tiles tiles, not 96"
record=$work/run-good/verified-shards.txt
[ -s "$record" ] || fail "no $record after a verification that passed"

# 1b. Started again on the same directory: the record says it is unchanged, nothing is read. Once
#     a shard is touched (its change time moves), it is read back again.
again() {
  timeout 300 "$mpi" -n 2 "$ddp" "$recipe" --set "data.path=$work/good" --set "output.dir=$work/run-good" \
    "${common[@]}" 2>&1
}
out=$(again) || { echo "$out" | tail -n 20; fail "the second run failed"; }
echo "$out" | grep "data.verify"
echo "$out" | grep -q "data.verify: $work/good is unchanged since it was verified" || fail "verified again, unchanged"
echo "$out" | grep -q "reading back every tile" && fail "an unchanged directory was read again"
touch "$work/good/shard-1-of-4.h5"
out=$(again) || { echo "$out" | tail -n 20; fail "the third run failed"; }
echo "$out" | grep -q "reading back every tile" || fail "a touched shard was not read again"

# 2. The last shard (rank 1's part) cut in half: both ranks stop, and the error names the shard.
cp -r "$work/good" "$work/bad"
bad=$work/bad/shard-3-of-4.h5
truncate -s $(( $(stat -c %s "$bad") / 2 )) "$bad"
out=$(timeout 300 "$mpi" -n 2 "$ddp" "$recipe" --set "data.path=$work/bad" --set "output.dir=$work/run-bad" \
      "${common[@]}" 2>&1)
rc=$?
echo "$out" | tail -n 8
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a truncated shard: exit status $rc (expected an error, not 0 or a timeout)"
echo "$out" | grep -q "error: data.verify: the shard directory $work/bad failed verification" ||
  fail "no data.verify error"
echo "$out" | sed -n '/error: data.verify/,$p' | grep -qF "$bad" || fail "the error does not name $bad"
[ -e "$work/run-bad/metrics.jsonl" ] && fail "training started on a directory that failed verification"
[ -e "$work/run-bad/verified-shards.txt" ] && fail "a record of a directory that failed verification"

# 3. satclip-ddp without satclip-pack beside it (one process).
cp "$ddp" "$work/bin/satclip-ddp"
out=$(timeout 120 "$work/bin/satclip-ddp" "$recipe" --set "data.path=$work/good" --set "output.dir=$work/run-alone" \
      "${common[@]}" 2>&1)
rc=$?
echo "$out" | tail -n 4
[ $rc -ne 0 ] || fail "ran without satclip-pack"
echo "$out" | grep -q "error: data.verify: could not verify $work/good:" || fail "no data.verify error"
echo "$out" | grep -q "data.verify runs $work/bin/satclip-pack, which is missing" || fail "no error naming satclip-pack"

# 4. No manifest (np 2): satclip-pack's own refusal is the reason, said once though both ranks hit it.
out=$(timeout 120 "$mpi" -n 2 "$ddp" "$recipe" --set "data.path=$work/none" --set "output.dir=$work/run-none" \
      "${common[@]}" 2>&1)
rc=$?
echo "$out" | grep -A 2 "could not verify"
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "no manifest: exit status $rc (expected an error, not 0 or a timeout)"
echo "$out" | grep -q "could not verify $work/none:" || fail "no data.verify error for a missing manifest"
reasons=$(echo "$out" | awk '/could not verify/ { n++ } n == 1 && /^  .*manifest.json: no manifest/ { c++ } END { print c + 0 }')
[ "$reasons" -eq 1 ] || fail "the first error lists the reason $reasons times, not once"
# 5. satclip-embed and satclip-eval read --shards directly; with --verify they check it first, in
#    one process: the truncated shard stops them before any output, the valid directory passes.
bin=$(dirname "$ddp")
for tool in embed eval; do
  case $tool in
    embed) args=(--out "$work/$tool-out.csv") ;;
    eval) args=(--out "$work/$tool-out" --only geoloc) ;;
  esac
  out=$(timeout 300 "$bin/satclip-$tool" --checkpoint "$work/run-good" --shards "$work/bad" --verify --device cpu \
        "${args[@]}" 2>&1)
  rc=$?
  [ $rc -eq 2 ] || { echo "$out" | tail -n 8; fail "satclip-$tool --verify on a truncated shard: exit $rc, not 2"; }
  echo "$out" | grep -q "error: satclip-$tool --verify: the shard directory $work/bad failed verification" ||
    fail "satclip-$tool: no verification error naming satclip-$tool --verify"
  echo "$out" | grep -q "HINT: do not read it" || fail "satclip-$tool: the hint is not the reader's"
  echo "$out" | grep -qF "$bad" || fail "satclip-$tool: the error does not name $bad"
  [ -e "$work/$tool-out.csv" ] || [ -e "$work/$tool-out/report.json" ] && fail "satclip-$tool wrote output"
  out=$(timeout 300 "$bin/satclip-$tool" --checkpoint "$work/run-good" --shards "$work/good" --verify --device cpu \
        "${args[@]}" 2>&1) || { echo "$out" | tail -n 8; fail "satclip-$tool --verify on a valid directory failed"; }
  echo "$out" | grep -q "4 shard(s), 96 tiles read back" || { echo "$out" | tail; fail "satclip-$tool: no verdict"; }
done
echo "PASS: data.verify"
