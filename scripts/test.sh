#!/usr/bin/env bash
# Set-up (install + build), the sanitizer step (scripts/sanitize.sh), then every test except
# the `gpu` label. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start=$(date +%s)
"$root/scripts/setup.sh"
build_dir=${SATCLIP_BUILD_DIR:-$root/build}
# The sanitizer step first (the file-input and thread tests built with ASan + UBSan), so that the
# full suite's summary is the last one printed.
"$root/scripts/sanitize.sh"
ctest --test-dir "$build_dir" --label-exclude gpu --output-on-failure --timeout 600
echo "[test] set-up, build and tests took $(( $(date +%s) - start )) s"
