#!/usr/bin/env bash
# satclip-run.sh: starts satclip-ddp inside a SLURM allocation, with preemption handling.
# Called by satclip-1node.sbatch and satclip-multinode.sbatch (read those first); usable in any
# allocation (salloc, sbatch) as  satclip-run.sh RECIPE.yaml [satclip-ddp options...]
#
# What it does:
#   - one rank per task: `srun --mpi=pmix` where SLURM offers PMIx, `mpirun` otherwise
#     (SATCLIP_LAUNCHER=auto|srun|mpirun);
#   - OMP_NUM_THREADS from SLURM_CPUS_PER_TASK (1 when unset);
#   - SATCLIP_DEVICE=gpu|cpu: cpu adds `--set run.device=cpu` (CPU-only partitions);
#   - always passes `--resume auto`, so a requeued job continues from its newest checkpoint;
#   - SIGUSR1 or SIGTERM to this script (`#SBATCH --signal=B:USR1@300`, or
#     `scancel --signal=USR1 --batch JOB`) is forwarded to every rank: they stop at the next step
#     boundary, write a checkpoint and exit 75;
#   - on exit status 75 it requeues the job (`scontrol requeue`) unless it has been requeued
#     SATCLIP_MAX_REQUEUES times already (SLURM_RESTART_COUNT); then it exits 75.
#
# Knobs (environment): SATCLIP_BIN (the satclip-ddp binary; default: build/core/apps/satclip-ddp
# under SATCLIP_HOME), SATCLIP_HOME (the checkout; default: the submit directory), SATCLIP_LAUNCHER,
# SATCLIP_DEVICE, SATCLIP_MAX_REQUEUES (default 10), SATCLIP_MPIRUN_ARGS (extra mpirun options).
set -u
recipe=${1:?usage: satclip-run.sh RECIPE.yaml [satclip-ddp options...]}
shift
: "${SLURM_JOB_ID:?satclip-run.sh runs inside a SLURM allocation (sbatch or salloc)}"
home=${SATCLIP_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
bin=${SATCLIP_BIN:-$home/build/core/apps/satclip-ddp}
launcher=${SATCLIP_LAUNCHER:-auto}
device=${SATCLIP_DEVICE:-gpu}
max_requeues=${SATCLIP_MAX_REQUEUES:-10}
restarts=${SLURM_RESTART_COUNT:-0}
ntasks=${SLURM_NTASKS:?no SLURM_NTASKS: give --ntasks or --ntasks-per-node}
log() { echo "[satclip-run $(date -u +%H:%M:%S)] $*"; }

[ -x "$bin" ] || { log "error: $bin is not an executable satclip-ddp; set SATCLIP_BIN or SATCLIP_HOME"; exit 2; }
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
args=("$recipe" --resume auto "$@")
case "$device" in
  cpu) args+=(--set run.device=cpu) ;;
  gpu) ;;
  *) log "error: SATCLIP_DEVICE=$device (use gpu or cpu)"; exit 2 ;;
esac
if [ "$launcher" = auto ]; then
  if srun --mpi=list 2>&1 | grep -q pmix; then launcher=srun; else launcher=mpirun; fi
fi
case "$launcher" in
  srun)
    # srun 22.05+ no longer inherits sbatch's --cpus-per-task: without it each task gets one CPU.
    cpt=()
    [ -z "${SLURM_CPUS_PER_TASK:-}" ] || cpt=(--cpus-per-task="$SLURM_CPUS_PER_TASK")
    cmd=(srun --mpi=pmix --kill-on-bad-exit=1 "${cpt[@]}" "$bin" "${args[@]}") ;;
  mpirun)
    # Root-run containers and test clusters: Open MPI refuses root unless told.
    [ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    # mpirun binds each rank to one core unless told (ppr mapping); :PE=C binds it to its task's
    # --cpus-per-task CPUs instead (counted as SLURM counts them: hardware threads), which the
    # loader's data.workers: auto then uses.
    map="ppr:${SLURM_NTASKS_PER_NODE:-$ntasks}:node"
    pe=()
    if [ "${SLURM_CPUS_PER_TASK:-1}" -gt 1 ]; then map+=":PE=$SLURM_CPUS_PER_TASK"; pe=(--use-hwthread-cpus); fi
    cmd=(mpirun -n "$ntasks" --map-by "$map" "${pe[@]}" ${SATCLIP_MPIRUN_ARGS:-} "$bin" "${args[@]}") ;;
  *) log "error: SATCLIP_LAUNCHER=$launcher (use auto, srun or mpirun)"; exit 2 ;;
esac

log "job $SLURM_JOB_ID (restart $restarts of at most $max_requeues), $ntasks task(s) on ${SLURM_JOB_NUM_NODES:-1} node(s), device $device, OMP_NUM_THREADS=$OMP_NUM_THREADS"
log "launch: ${cmd[*]}"
"${cmd[@]}" &
child=$!
forward() {
  log "$1 received: forwarding SIGUSR1 to the ranks (they checkpoint and exit 75)"
  kill -USR1 "$child" 2>/dev/null  # srun and mpirun both pass SIGUSR1 on to every rank
}
trap 'forward SIGUSR1' USR1
trap 'forward SIGTERM' TERM
rc=0
while :; do
  wait "$child"
  rc=$?
  kill -0 "$child" 2>/dev/null || break  # wait was interrupted by a trapped signal: wait again
done
log "satclip-ddp exited with status $rc"
if [ "$rc" -eq 75 ]; then
  if [ "$restarts" -lt "$max_requeues" ]; then
    log "checkpointed: requeueing job $SLURM_JOB_ID (it resumes with --resume auto)"
    scontrol requeue "$SLURM_JOB_ID" || log "error: scontrol requeue failed; resubmit this script to continue"
  else
    log "checkpointed, but the job was already requeued $restarts times (SATCLIP_MAX_REQUEUES): not requeueing"
  fi
fi
exit "$rc"
