#!/usr/bin/env bash
# Installs what is missing on Debian 12 (apt packages; torch from its pip wheel into .venv),
# then configures and builds satclip-ddp in build/. Safe to run again: every step is skipped
# when already done.
#
# Prints one line per step (what, how long); the tools' own output goes to
# <build dir>/setup.log, whose path is printed when a step fails.
#
# Environment knobs:
#   SATCLIP_BUILD_DIR   build directory (default: <repo>/build)
#   SATCLIP_PYTHON      a Python whose environment already has torch (skips the venv)
#   SATCLIP_TORCH       the pip requirement for torch (default: torch==2.11.0)
#   SATCLIP_JOBS        parallel build jobs (default: number of cores)
#   SATCLIP_BUILD_TYPE  CMake build type (default: Release; RelWithDebInfo adds debug info, and
#                       about a third to the build time)
#   SATCLIP_CMAKE_ARGS  extra arguments for cmake (e.g. -DSATCLIP_WITH_CUDA=OFF)
#   SATCLIP_BUILD_TARGET  build only this target (default: everything; scripts/test.sh builds
#                       quick-tests)
#   SATCLIP_VERBOSE=1   show the tools' output on the terminal as well
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${SATCLIP_BUILD_DIR:-$root/build}
torch_req=${SATCLIP_TORCH:-torch==2.11.0}
jobs=${SATCLIP_JOBS:-$(nproc)}
build_type=${SATCLIP_BUILD_TYPE:-Release}
mkdir -p "$build_dir"
log_file=$build_dir/setup.log
: > "$log_file"
say() { printf '[setup] %s\n' "$*"; }

# step "what" command...: runs the command with its output in the log; one line when it is done.
step() {
  local what=$1 t0=$SECONDS rc=0
  shift
  printf '\n== %s: %s\n' "$what" "$*" >> "$log_file"
  if [ "${SATCLIP_VERBOSE:-0}" = 1 ]; then
    "$@" 2>&1 | tee -a "$log_file" || rc=${PIPESTATUS[0]}
  else
    "$@" >> "$log_file" 2>&1 || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    say "$what: FAILED (exit $rc) after $((SECONDS - t0)) s; last lines of $log_file:"
    tail -n 25 "$log_file" | sed 's/^/    /' >&2
    say "full log: $log_file"
    exit "$rc"
  fi
  say "$what: done in $((SECONDS - t0)) s"
}

# 1. System packages.
packages=(build-essential cmake git pkg-config bc python3 python3-venv python3-dev
          libopenmpi-dev openmpi-bin libhdf5-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
          libgtest-dev libgmock-dev libbenchmark-dev libgdal-dev gdal-bin libzstd-dev procps util-linux mount
          slurm-wlm munge iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  step "apt-get update" "${sudo_cmd[@]}" apt-get update
  step "apt-get install ${#missing[@]} packages (${missing[*]})" \
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  step "apt-get clean (the downloaded packages)" "${sudo_cmd[@]}" apt-get clean
else
  say "system packages: present"
fi

# 2. A Python with torch: $SATCLIP_PYTHON, then .venv, else create .venv from the pip wheel.
has_torch() { "$1" -c "import torch" >/dev/null 2>&1; }
python=${SATCLIP_PYTHON:-}
if [ -n "$python" ]; then
  has_torch "$python" || { echo "SATCLIP_PYTHON=$python cannot import torch" >&2; exit 1; }
elif [ -x "$root/.venv/bin/python" ] && has_torch "$root/.venv/bin/python"; then
  python=$root/.venv/bin/python
else
  step "python venv $root/.venv" "$(command -v python3)" -m venv "$root/.venv"
  step "pip: upgrade pip" "$root/.venv/bin/python" -m pip install --no-cache-dir --upgrade pip
  step "pip: $torch_req numpy h5py (a few GB: torch, CUDA runtime and NCCL wheels)" \
    "$root/.venv/bin/python" -m pip install --no-cache-dir "$torch_req" numpy h5py
  python=$root/.venv/bin/python
fi
# The tests' independent references (timm, geoclip, scipy, h5py, matplotlib), pinned to the same torch.
if [ "$python" = "$root/.venv/bin/python" ] &&
   ! "$python" -c "import timm, geoclip, scipy, h5py, hdf5plugin, matplotlib, torchvision, sklearn, tensorboard" >/dev/null 2>&1; then
  step "pip: test references and plotting ($(grep -v '^#' "$root/tests/reference/requirements.txt" | xargs))" \
    "$python" -m pip install --no-cache-dir "$torch_req" -r "$root/tests/reference/requirements.txt" h5py matplotlib
fi
say "torch $("$python" -c 'import torch; print(torch.__version__)') from $python"

# 3. Configure (once, or again when the Python or the build type changed) and build.
cache=$build_dir/CMakeCache.txt
if [ ! -f "$cache" ] || ! grep -q "^SATCLIP_PYTHON:FILEPATH=$python\$" "$cache" ||
   ! grep -q "^CMAKE_BUILD_TYPE:STRING=$build_type\$" "$cache"; then
  # shellcheck disable=SC2086
  step "cmake configure ($build_type)" cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" \
       -DSATCLIP_PYTHON="$python" ${SATCLIP_CMAKE_ARGS:-}
  grep -E "satclip: +(CUDA|NCCL|GDAL):" "$log_file" | sed 's/^-- satclip: */[setup]   /' || true
fi
if [ -n "${SATCLIP_BUILD_TARGET:-}" ]; then
  step "build $SATCLIP_BUILD_TARGET ($jobs jobs) in $build_dir" cmake --build "$build_dir" -j "$jobs" --target "$SATCLIP_BUILD_TARGET"
else
  step "build ($jobs jobs) in $build_dir" cmake --build "$build_dir" -j "$jobs"
fi
