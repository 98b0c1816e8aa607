#!/usr/bin/env bash
# The layering rules of the source tree (see docs/architecture.md "Layout"):
#   - distributed/ and datasets/ include nothing of core/ but core/base;
#   - core/base, core/recipe, core/train/plan and core/train/runlog include no torch, ATen or c10
#     header (satclip-recipe and the run plan's tests stay torch-free);
#   - core/ has no loose source files at its root: one layer per subfolder;
#   - no include runs from a lower library of core/ to a higher one. Each folder (one library)
#     may include, from core/, only its own folder and the folders listed for it below; in
#     particular core/eval includes nothing of core/train (inference is core/infer), and the
#     folders below core/train's root never include the trainer.
# Prints every violation and exits 1 when there is one.
set -u
root=${1:?usage: check_layering.sh SOURCE_DIR}
status=0
report() { echo "layering: $*"; status=1; }
while IFS= read -r hit; do
  report "$hit (distributed/ and datasets/ may include only core/base from core/)"
done < <(grep -rnE '#include +"core/' "$root/distributed" "$root/datasets" | grep -vE '"core/base/')
while IFS= read -r hit; do
  report "$hit (this folder must not include torch)"
done < <(grep -rnE '#include +<(torch|ATen|c10)/' "$root/core/base" "$root/core/recipe" "$root/core/train/plan" \
           "$root/core/train/runlog")
while IFS= read -r f; do
  report "$f is a loose file at the root of core/ (put it into the layer's subfolder)"
done < <(find "$root/core" -maxdepth 1 -type f \( -name '*.h' -o -name '*.cpp' \))

# folder -> the core/ folders it may include besides itself (lowest layers first).
declare -A may=(
  [core/base]=""
  [core/recipe]="core/base"
  [core/model]="core/base core/recipe"
  [core/train/plan]="core/base core/recipe"
  [core/train/optim]="core/base core/recipe core/model"
  [core/train/runlog]="core/base"
  [core/train/checkpoint]="core/base core/recipe core/model core/train/optim"
  [core/infer]="core/base core/recipe core/model core/train/checkpoint"
  [core/train/data]="core/base core/recipe core/model core/train/plan core/train/checkpoint core/infer"
  [core/train/cache]="core/base core/recipe core/model core/infer"
  [core/train]="core/base core/recipe core/model core/infer core/train/plan core/train/optim core/train/checkpoint
                core/train/runlog core/train/data core/train/cache"
  [core/eval]="core/base core/recipe core/model core/infer"
)
for folder in "${!may[@]}"; do
  [ -d "$root/$folder" ] || { report "$folder: no such folder (update check_layering.sh)"; continue; }
  while IFS= read -r hit; do
    target=$(sed -E 's/.*#include +"(core\/[^"]*)\/[^/"]+".*/\1/' <<<"${hit#*:*:}")
    [ "$target" = "$folder" ] && continue
    ok=0
    for allowed in ${may[$folder]}; do [ "$target" = "$allowed" ] && ok=1; done
    [ $ok -eq 1 ] || report "${hit#$root/} ($folder may not include $target)"
  done < <(find "$root/$folder" -maxdepth 1 -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' \) -print0 |
           xargs -0 grep -nHE '#include +"core/' /dev/null)
done
# Every folder of core/ with sources has its rule (apps, the mains, may include anything).
while IFS= read -r dir; do
  rel=${dir#$root/}
  [ "$rel" = core/apps ] && continue
  [ -n "${may[$rel]+x}" ] || report "$rel has no layering rule (add it to check_layering.sh)"
done < <(find "$root/core" -mindepth 1 -type d | while read -r d; do
           ls "$d"/*.cpp "$d"/*.h >/dev/null 2>&1 && echo "$d"; done)
[ $status -eq 0 ] && echo "layering: ok"
exit $status
