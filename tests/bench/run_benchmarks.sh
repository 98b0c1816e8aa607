#!/usr/bin/env bash
# Runs the distributed benchmarks at np 2 and prints markdown (machine first) to stdout.
# Usage: tests/bench/run_benchmarks.sh [BUILD_DIR]   (build first: scripts/setup.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${SATCLIP_BUILD_DIR:-$root/build}}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; $(mpiexec --version | head -1); $(date -u +%F)"
echo
echo "### Communicator all_reduce vs bare MPI_Allreduce (float32, np 2)"
mpiexec -n 2 "$build/tests/bench/bench_allreduce" "${ROUNDS:-5}"
echo
echo "### GradReducer overlap vs backward-then-reduce (np 2)"
mpiexec -n 2 "$build/tests/bench/bench_grad_reducer" 1 "${STEPS:-10}" 64
