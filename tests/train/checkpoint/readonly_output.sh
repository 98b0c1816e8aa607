#!/usr/bin/env bash
# (g) An unwritable output.dir is an error at start (naming it), not at the first checkpoint.
# Non-root: a chmod 555 folder. Root ignores permissions, so a read-only bind mount in a private
# mount namespace (unshare -m) is used instead, or, where that is not possible (e.g. in a chroot),
# the immutable attribute (chattr +i, removed again on exit).
source "$(dirname "$0")/lib.sh"
dir="$WORK/ro"
mkdir -p "$dir"
if [ "$(id -u)" -ne 0 ]; then
  chmod 555 "$dir"
  wrap=()
elif unshare -m true 2>/dev/null; then
  wrap=(unshare -m sh -c 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"' "$dir")
elif chattr +i "$dir" 2>/dev/null; then
  trap 'chattr -i "$dir"' EXIT
  wrap=()
else
  fail "running as root, and neither unshare -m nor chattr +i works here: cannot make a read-only folder"
fi
t0=$SECONDS
rc=0
out=$("${wrap[@]}" timeout 120 "$MPIEXEC" -n 2 "$DDP" "$RECIPE" --set "output.dir=$dir" 2>&1) || rc=$?
echo "$out" | grep -E "error|HINT" | head -4
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "exit status $rc"
grep -q "output.dir = $dir: cannot" <<<"$out" || fail "the error does not name output.dir"
! grep -q "step 1/" <<<"$out" || fail "training started before the error"
pass "read-only output.dir: exit status $rc after $((SECONDS - t0)) s, before training"
