#!/usr/bin/env bash
# Fuzzes every reader of outside bytes with libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 s each, all targets
#
# Installs clang (Debian packages) when missing, configures build-fuzz/ with clang and
# -DSATCLIP_FUZZ=ON -DSATCLIP_SANITIZE=address,undefined (the torch from .venv, as scripts/setup.sh
# makes it), builds the fuzz_<target> binaries and runs each for SECONDS on a copy of its seed
# corpus (tests/fuzz/corpus/<target>; new inputs stay in build-fuzz/corpus/). A crash is
# minimised and written to tests/fuzz/crashes/<target>/, where the normal ctest case
# fuzz_replay_<target> replays it on every CI run. Prints execs/s and coverage per target;
# exits 1 if any target crashed.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(torch_file recipe index_csv tar_index manifest shard coords_csv checkpoint_text cache_info)
build=${SATCLIP_FUZZ_BUILD_DIR:-$root/build-fuzz}
python=${SATCLIP_PYTHON:-$root/.venv/bin/python}
jobs=${SATCLIP_JOBS:-$(nproc)}

if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libclang-rt-14-dev ||
    { echo "fuzz.sh: cannot install clang"; exit 2; }
fi
[ -x "$python" ] || "$root/scripts/setup.sh" || exit 2
mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSATCLIP_PYTHON="$python" \
    -DSATCLIP_FUZZ=ON -DSATCLIP_SANITIZE=address,undefined -DSATCLIP_WITH_CUDA=OFF -DSATCLIP_WITH_NCCL=OFF \
    -DSATCLIP_BUILD_BENCHMARKS=OFF > "$build/satclip-configure.log" 2>&1 || { tail -30 "$build/satclip-configure.log"; exit 2; }
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/fuzz_}" > "$build/satclip-build.log" 2>&1 ||
  { grep -E "error" -A3 "$build/satclip-build.log" | head -40; exit 2; }

export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1  # libtorch's caches are not leaks
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t crashes=$root/tests/fuzz/crashes/$t
  mkdir -p "$corpus" "$crashes" "$build/artifacts/$t"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null
  log=$build/fuzz-$t.log
  # shard_bytes (optional, not in the default list): libhdf5 allocates ~4.2 GB (then fails
  # cleanly) on a crafted global heap behind /fn (tests/fuzz/hdf5-known/); room for that.
  rss=4096; [ "$t" = shard_bytes ] && rss=8192
  (cd "$build/artifacts/$t" && "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=$rss \
     -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" "$corpus" > "$log" 2>&1)
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz $t: ${seconds}s, $execs runs, $speed exec/s, $cov, corpus $(ls "$corpus" | wc -l) inputs: no crash"
  else
    status=1
    for a in "$build/artifacts/$t/"crash-* "$build/artifacts/$t/"timeout-* "$build/artifacts/$t/"oom-*; do
      [ -f "$a" ] || continue
      # A timeout artifact hangs by definition: without -timeout (and the outer limit) minimising
      # one never ends.
      timeout 150 "$build/tests/fuzz/fuzz_$t" -minimize_crash=1 -max_total_time=60 -timeout=20 \
        -exact_artifact_path="$a.min" "$a" >/dev/null 2>&1
      cp "${a}.min" "$crashes/$(basename "$a")" 2>/dev/null || cp "$a" "$crashes/"
    done
    echo "fuzz $t: CRASH after $execs runs (see $log); inputs written to $crashes"
    grep -E "ERROR: |runtime error|SUMMARY" "$log" | head -5
  fi
done
exit $status
