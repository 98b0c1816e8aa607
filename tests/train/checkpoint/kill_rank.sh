#!/usr/bin/env bash
# (d) kill -9 of one rank mid-run: the job ends non-zero in under 30 s, naming the dead rank.
source "$(dirname "$0")/lib.sh"
dir="$WORK/run"
start 2 "$dir" --set train.max_steps=1000
wait_step "$dir" 3
pids=($(ranks "$dir"))
[ ${#pids[@]} -eq 2 ] || fail "expected 2 rank processes, found ${#pids[@]}"
t0=$(date +%s.%N)
kill -9 "${pids[1]}"
rc=0; wait "$job" || rc=$?
took=$(echo "$(date +%s.%N) - $t0" | bc)
tail -8 "$dir.log"
echo "exit status $rc after ${took}s"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "exit status $rc"
[ "$(echo "$took < 30" | bc)" -eq 1 ] || fail "took ${took}s"
grep -q "rank 1" "$dir.log" || fail "the output does not name rank 1"
pass "kill -9 of rank 1: exit status $rc after ${took}s, rank 1 named"
