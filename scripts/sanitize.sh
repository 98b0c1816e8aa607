#!/usr/bin/env bash
# The sanitizer step of CI: builds the tests that read outside files or run threads with
# AddressSanitizer + UndefinedBehaviorSanitizer (g++, a second build directory, build-asan/) and
# runs them. Called by scripts/test.sh after the normal tests; runs alone too:
#   scripts/sanitize.sh            (after scripts/setup.sh)
# SATCLIP_SANITIZE=thread selects ThreadSanitizer instead (see scripts/tsan.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=${SATCLIP_SANITIZE:-address,undefined}
build=${SATCLIP_SANITIZE_BUILD_DIR:-$root/build-$( [ "$kind" = thread ] && echo tsan || echo asan )}
python=${SATCLIP_PYTHON:-$root/.venv/bin/python}
jobs=${SATCLIP_JOBS:-$(nproc)}
# What reads outside bytes or runs threads: recipes, shards + loader threads, the packer's
# workers + GeoTIFFs, torch.save files, every fuzz target's corpus, the gradient reducer's threads,
# the pipe and spawn of another program (data.verify), the bounded reader of outside files, the CSV splitter.
targets=(${SATCLIP_SANITIZE_TARGETS:-test_config test_loader_unit test_pack test_sampler test_train_logic
         test_subprocess test_files test_text test_ordered_work test_run_plan state_dict_roundtrip test_grad_reducer replay_torch_file replay_recipe
         replay_index_csv replay_tar_index replay_manifest replay_shard replay_shard_bytes replay_coords_csv replay_checkpoint_text
         replay_cache_info})
tests=${SATCLIP_SANITIZE_TESTS:-'^(test_config|test_loader_unit|test_pack|test_sampler|test_train_logic|test_subprocess|test_files|test_text|test_ordered_work|test_run_plan|state_dict_.*|test_grad_reducer_np2|fuzz_replay_.*)$'}
say() { echo "[sanitize] $*"; }
t0=$SECONDS
mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  # -O1 -g1 (line tables only): the sanitizers' usual optimisation level, and half the build time
  # of -O2 -g on 2 cores (488 s against 988 s for these targets); reports still name file:line.
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
    -DSATCLIP_PYTHON="$python" \
    -DSATCLIP_SANITIZE="$kind" -DSATCLIP_WITH_CUDA=OFF -DSATCLIP_WITH_NCCL=OFF -DSATCLIP_BUILD_BENCHMARKS=OFF \
    > "$build/satclip-configure.log" 2>&1 || { tail -30 "$build/satclip-configure.log"; exit 1; }
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]}" > "$build/satclip-build.log" 2>&1 ||
  { grep -E "error" -A3 "$build/satclip-build.log" | head -40; exit 1; }
say "-fsanitize=$kind build of ${#targets[@]} test targets: $((SECONDS - t0)) s"
# libtorch's and Open MPI's process-lifetime allocations are not leaks; libtorch is not
# instrumented (its ODR-duplicated symbols are not ours).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:detect_odr_violation=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
ctest --test-dir "$build" -R "$tests" --output-on-failure --timeout 900
say "done in $((SECONDS - t0)) s"
