#!/usr/bin/env bash
# The layering rules of the source tree (see README "Layout"):
#   - distributed/ and datasets/ include nothing of core/ but core/base;
#   - core/base and core/recipe include no torch, ATen or c10 header (the recipe library and
#     satclip-recipe stay torch-free);
#   - core/ has no loose source files at its root: one layer per subfolder.
# Prints every violation and exits 1 when there is one.
set -u
root=${1:?usage: check_layering.sh SOURCE_DIR}
status=0
report() { echo "layering: $*"; status=1; }
while IFS= read -r hit; do
  report "$hit (distributed/ and datasets/ may include only core/base from core/)"
done < <(grep -rnE '#include +"core/' "$root/distributed" "$root/datasets" | grep -vE '"core/base/')
while IFS= read -r hit; do
  report "$hit (core/base and core/recipe must not include torch)"
done < <(grep -rnE '#include +<(torch|ATen|c10)/' "$root/core/base" "$root/core/recipe")
while IFS= read -r f; do
  report "$f is a loose file at the root of core/ (put it into the layer's subfolder)"
done < <(find "$root/core" -maxdepth 1 -type f \( -name '*.h' -o -name '*.cpp' \))
[ $status -eq 0 ] && echo "layering: ok"
exit $status
