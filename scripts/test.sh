#!/usr/bin/env bash
# The README's test command.
#   scripts/test.sh          set-up (install what is missing), build what the quick tests need, and
#                            run them (tests/quick.txt: unit, MPI, model, trainer equivalence,
#                            resume): does this build work?
#   scripts/test.sh --full   set-up and the whole build, the sanitizer step (scripts/sanitize.sh),
#                            then every test except the `gpu` label (the SLURM clusters, fault
#                            injection, fuzz replays, interop, evaluation): what CI runs
# Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
full=0
for arg in "$@"; do
  case $arg in
    --full) full=1 ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scripts/test.sh: unknown argument '$arg' (expected --full or --help)" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
# Disk: about 6 GiB for .venv (torch with its CUDA wheels), 4 for build/, 3 for build-asan/ and
# up to 2 for one test's run directory (tests delete their checkpoints once done).
need=$(( full ? 16 : 11 ))
free_gib=$(df -Pk "$root" | awk 'NR == 2 { print int($4 / 1048576) }')
if [ "${free_gib:-0}" -lt "$need" ]; then
  echo "[test] warning: only ${free_gib} GiB free on $(df -P "$root" | awk 'NR == 2 { print $6 }'); a run from scratch needs about $need GiB" >&2
fi
build_dir=${SATCLIP_BUILD_DIR:-$root/build}
# Tests run side by side, one per core; an MPI test, a SLURM job or an evaluation that keeps two
# cores busy declares it (ctest's PROCESSORS) and runs beside nothing on 2 cores.
test_jobs=${SATCLIP_TEST_JOBS:-$(nproc)}
if [ "$full" = 1 ]; then
  "$root/scripts/setup.sh"
  # The sanitizer step first (the file-input and thread tests built with ASan + UBSan), so that the
  # full suite's summary is the last one printed.
  "$root/scripts/sanitize.sh"
  ctest --test-dir "$build_dir" -j "$test_jobs" --label-exclude gpu --output-on-failure --timeout 600
else
  SATCLIP_BUILD_TARGET=quick-tests "$root/scripts/setup.sh"
  names=$(grep -v '^#' "$root/tests/quick.txt" | grep . | paste -sd '|')
  for name in ${names//|/ }; do  # a renamed test must not drop out of the list unnoticed
    ctest --test-dir "$build_dir" -N -R "^$name\$" | grep -q "^Total Tests: 0" &&
      { echo "[test] tests/quick.txt names '$name', which is not a test" >&2; exit 1; }
  done
  ctest --test-dir "$build_dir" -j "$test_jobs" -R "^($names)\$" --label-exclude gpu --output-on-failure --timeout 600
fi
echo "[test] set-up, build and tests took $(( $(date +%s) - start )) s"
