#!/usr/bin/env bash
# ThreadSanitizer run of the threaded code: the loader (worker threads, prefetch ring) and the
# gradient reducer (autograd hooks + the communicator's executor thread), in build-tsan/.
# Not part of CI (slow); run it by hand after scripts/setup.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Open MPI's libraries are not instrumented: reports inside them are suppressed (the file says which).
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/support/tsan.supp}
SATCLIP_SANITIZE=thread \
SATCLIP_SANITIZE_TARGETS="test_loader_unit test_grad_reducer" \
SATCLIP_SANITIZE_TESTS='^(test_loader_unit|test_grad_reducer_np2)$' \
  exec "$root/scripts/sanitize.sh"
