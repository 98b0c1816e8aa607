# Sourced by the checkpoint and SLURM test libraries after WORK is set: when the test script
# exits 0, the bulky files under WORK (checkpoints *.pt, shards *.h5) are deleted, so that a
# full ctest run does not need many GiB of disk (CI machines may have little). Logs, metrics and
# recipes stay; a failing test keeps everything for inspection.
tidy_on_success() {
  local rc=$?
  [ "$rc" -eq 0 ] && find "$WORK" -type f \( -name '*.pt' -o -name '*.h5' \) -delete 2>/dev/null
  return "$rc"
}
trap tidy_on_success EXIT
