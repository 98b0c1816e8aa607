#!/usr/bin/env bash
# Fetches, into <repo>/.whl/, the wheels the GPU host lacks for scripts/gpu-check.sh's PyTorch twin
# (tests/reference/seed_model.py imports geoclip; the host has torch, timm, transformers and the
# rest, but not geoclip and geopy). gpu-check.sh installs them from there when the device call
# carries `.whl`. Run it here, where PyPI is reachable; .whl/ is excluded from git in this clone.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${SATCLIP_PYTHON:-$root/.venv/bin/python}
[ -x "$python" ] || python=python3
grep -qx '/.whl/' "$root/.git/info/exclude" 2>/dev/null || echo '/.whl/' >> "$root/.git/info/exclude"
# All three are pure Python (py3-none-any): no platform to match.
"$python" -m pip download -q --no-deps --only-binary=:all: -d "$root/.whl" \
  geoclip==1.3.0 geopy==2.4.1 geographiclib==2.0
ls -l "$root/.whl"
