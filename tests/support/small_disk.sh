# Sourced by a test script that needs a small disk to fill (root only; elsewhere it skips).
# `small_disk SIZE [ARGS...]` re-runs the script ("$0" ARGS...) with SMALL_DISK set to a tmpfs of
# SIZE mounted at WORK/small and WORK set to WORK/inner (the re-run empties its own WORK), then
# exits with the re-run's status: in a private mount namespace (`unshare -m`), or, where that
# fails (a chroot), mounted here and unmounted afterwards. Not root: exits 77 (ctest's skip). In
# the re-run (SMALL_DISK set) it returns at once.
small_disk() {
  [ -n "${SMALL_DISK:-}" ] && return 0
  local size=$1 mnt="$WORK/small" rc=0
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root to mount a small tmpfs"
    exit 77
  fi
  mkdir -p "$mnt"
  if unshare -m true 2>/dev/null; then
    exec env SMALL_DISK="$mnt" WORK="$WORK/inner" unshare -m sh -c \
      'mount -t tmpfs -o "size=$0" tmpfs "$1" && shift && exec "$@"' "$size" "$mnt" "$0" "$@"
  fi
  mount -t tmpfs -o "size=$size" tmpfs "$mnt" || { echo "FAIL: cannot mount a tmpfs"; exit 1; }
  SMALL_DISK="$mnt" WORK="$WORK/inner" "$0" "$@" || rc=$?
  umount "$mnt"
  exit "$rc"
}
