#!/usr/bin/env bash
# Multi-node: sbatch the CPU variant of slurm/satclip-multinode.sbatch on NODES nodes x TASKS
# tasks (the test cluster's node namespaces), launched by LAUNCHER (srun = `srun --mpi=pmix`, or
# mpirun): the job completes 0:0, each rank runs on its node with the right node-local rank, and
# every loss equals the one-node run of the same recipe at the same world size (relative 1e-6).
# Usage: NODES=N TASKS=T nodes.sh LAUNCHER RECIPE REFERENCE_RUN_DIR
source "$(dirname "$0")/lib.sh"
launcher=$1 recipe=$2 ref=$3 dir="$WORK/run"
run_job "$launcher" "$recipe" --set "output.dir=$dir"
check_placement "$dir"
"$PY" "$(dirname "$0")/same_losses.py" "$ref" "$dir" 1e-6 || fail "the losses differ from the one-node run's"
pass "$launcher: job $job on ${NODES} nodes x ${TASKS} tasks COMPLETED 0:0, ranks placed node by node, the one-node run's losses"
