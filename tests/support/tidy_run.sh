#!/usr/bin/env bash
# tidy_run.sh DIR...: delete the checkpoints (*.pt) of fixture runs once every test that reads
# them has run (a FIXTURES_CLEANUP test), so that a full ctest run needs little disk.
set -euo pipefail
for d in "$@"; do
  [ -d "$d" ] && find "$d" -type f -name '*.pt' -delete
done
exit 0
