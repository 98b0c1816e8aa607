#!/usr/bin/env bash
# Usage: expect_abort.sh MAX_SECONDS MARKER COMMAND...
# Passes when COMMAND exits non-zero (not by our timeout) within MAX_SECONDS and printed MARKER.
set -u
max=$1 marker=$2
shift 2
start=$(date +%s.%N)
out=$(timeout 120 "$@" 2>&1)
rc=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
echo "$out" | tail -n 20
echo "exit status $rc after ${elapsed}s"
if [ "$rc" -eq 0 ]; then echo "FAIL: the job exited 0"; exit 1; fi
if [ "$rc" -eq 124 ]; then echo "FAIL: the job hung until the 120 s timeout"; exit 1; fi
if [ "$(echo "$elapsed > $max" | bc)" -eq 1 ]; then echo "FAIL: took longer than ${max}s"; exit 1; fi
if ! grep -q -- "$marker" <<<"$out"; then echo "FAIL: the output lacks '$marker'"; exit 1; fi
echo "PASS: non-zero exit in ${elapsed}s with the failing rank's message"
