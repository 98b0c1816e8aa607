#!/usr/bin/env bash
# Set-up (install + build), the sanitizer step (scripts/sanitize.sh), then every test except
# the `gpu` label. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start=$(date +%s)
# Disk: about 6 GiB for .venv (torch with its CUDA wheels), 4 for build/, 3 for build-asan/ and
# up to 2 for one test's run directory (tests delete their checkpoints once done).
free_gib=$(df -Pk "$root" | awk 'NR == 2 { print int($4 / 1048576) }')
if [ "${free_gib:-0}" -lt 16 ]; then
  echo "[test] warning: only ${free_gib} GiB free on $(df -P "$root" | awk 'NR == 2 { print $6 }'); a run from scratch needs about 16 GiB" >&2
fi
"$root/scripts/setup.sh"
build_dir=${SATCLIP_BUILD_DIR:-$root/build}
# The sanitizer step first (the file-input and thread tests built with ASan + UBSan), so that the
# full suite's summary is the last one printed.
"$root/scripts/sanitize.sh"
ctest --test-dir "$build_dir" --label-exclude gpu --output-on-failure --timeout 600
echo "[test] set-up, build and tests took $(( $(date +%s) - start )) s"
