#!/usr/bin/env bash
# Installs what is missing on Debian 12 (apt packages; torch from its pip wheel into .venv),
# then configures and builds satclip-ddp in build/. Safe to run again: every step is skipped
# when already done.
#
# Environment knobs:
#   SATCLIP_BUILD_DIR   build directory (default: <repo>/build)
#   SATCLIP_PYTHON      a Python whose environment already has torch (skips the venv)
#   SATCLIP_TORCH       the pip requirement for torch (default: torch==2.11.0)
#   SATCLIP_JOBS        parallel build jobs (default: number of cores)
#   SATCLIP_CMAKE_ARGS  extra arguments for cmake (e.g. -DSATCLIP_WITH_CUDA=OFF)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${SATCLIP_BUILD_DIR:-$root/build}
torch_req=${SATCLIP_TORCH:-torch==2.11.0}
jobs=${SATCLIP_JOBS:-$(nproc)}
log() { printf '[setup] %s\n' "$*"; }

# 1. System packages.
packages=(build-essential cmake git pkg-config bc python3 python3-venv python3-dev
          libopenmpi-dev openmpi-bin libhdf5-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
          libgtest-dev libgmock-dev libbenchmark-dev libgdal-dev gdal-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "system packages present"
fi

# 2. A Python with torch: $SATCLIP_PYTHON, then .venv, else create .venv from the pip wheel.
has_torch() { "$1" -c "import torch" >/dev/null 2>&1; }
python=${SATCLIP_PYTHON:-}
if [ -n "$python" ]; then
  has_torch "$python" || { echo "SATCLIP_PYTHON=$python cannot import torch" >&2; exit 1; }
elif [ -x "$root/.venv/bin/python" ] && has_torch "$root/.venv/bin/python"; then
  python=$root/.venv/bin/python
else
  base_python=$(command -v python3)
  log "creating $root/.venv with $torch_req (a few GB: torch, CUDA runtime and NCCL wheels)"
  "$base_python" -m venv "$root/.venv"
  "$root/.venv/bin/python" -m pip install -q --upgrade pip
  "$root/.venv/bin/python" -m pip install -q "$torch_req" numpy h5py
  python=$root/.venv/bin/python
fi
# The tests' independent references (timm, geoclip, scipy; h5py), pinned to the same torch.
if [ "$python" = "$root/.venv/bin/python" ] &&
   ! "$python" -c "import timm, geoclip, scipy, h5py" >/dev/null 2>&1; then
  log "installing the test references: $(grep -v '^#' "$root/tests/reference/requirements.txt" | xargs) h5py"
  "$python" -m pip install -q "$torch_req" h5py -r "$root/tests/reference/requirements.txt"
fi
log "torch $("$python" -c 'import torch; print(torch.__version__)') from $python"

# 3. Configure (once, or again when the Python changed) and build.
if [ ! -f "$build_dir/CMakeCache.txt" ] || ! grep -q "^SATCLIP_PYTHON:FILEPATH=$python\$" "$build_dir/CMakeCache.txt"; then
  # shellcheck disable=SC2086
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSATCLIP_PYTHON="$python" \
        ${SATCLIP_CMAKE_ARGS:-}
fi
cmake --build "$build_dir" -j "$jobs"
log "built in $build_dir"
