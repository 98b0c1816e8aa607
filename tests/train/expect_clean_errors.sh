#!/usr/bin/env bash
# Usage: expect_clean_errors.sh MARKER_FILE COMMAND_PREFIX... -- FILE...
# Runs COMMAND_PREFIX FILE for each FILE. Passes when every run ends with exit status 2 (a
# satclip::Error: clean message, no crash, no signal, no hang; EXPECT_RC overrides, e.g. 1 for
# satclip-ddp, whose errors end the MPI job with 1) naming the file, and MARKER_FILE (which a
# hostile file would create by running code) does not exist afterwards.
set -u
marker=$1
shift
prefix=()
while [ "$1" != "--" ]; do prefix+=("$1"); shift; done
shift
status=0
for f in "$@"; do
  out=$(timeout 60 "${prefix[@]}" "$f" 2>&1)
  rc=$?
  line=$(grep -m1 "error:" <<<"$out")
  if [ "$rc" -ne "${EXPECT_RC:-2}" ] || ! grep -qF -- "$f" <<<"$line"; then
    echo "FAIL $(basename "$f"): exit $rc: ${out:0:400}"
    status=1
  else
    echo "ok   $(basename "$f"): ${line:0:160}"
  fi
done
if [ -e "$marker" ]; then echo "FAIL: $marker exists: a hostile file ran code"; status=1; fi
exit $status
