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
#     SATCLIP_MAX_REQUEUES times already (SLURM_RESTART_COUNT); then it exits 75;
#   - on any other failure of a job on several nodes it asks every node of the allocation to run
#     `true` (srun, at most 20 s); nodes that do not answer are named with the ranks they ran,
#     and the job is requeued (same cap) so that it resumes from its newest checkpoint once SLURM
#     has the nodes again (SATCLIP_REQUEUE_ON_NODE_LOSS=0 turns this off).
#
# Knobs (environment): SATCLIP_BIN (the satclip-ddp binary; default: build/core/apps/satclip-ddp
# under SATCLIP_HOME), SATCLIP_HOME (the checkout; default: the submit directory), SATCLIP_LAUNCHER,
# SATCLIP_DEVICE, SATCLIP_MAX_REQUEUES (default 10), SATCLIP_REQUEUE_ON_NODE_LOSS (default 1),
# SATCLIP_MPIRUN_ARGS and SATCLIP_SRUN_ARGS (extra options of the launcher, e.g. pyxis's
# --container-image for srun; see slurm/README.md, "Containers").
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

# ranks_by_node: one line per node of the allocation, "NODE FIRST LAST": the ranks it runs. Both
# launchers place ranks in blocks, node by node, in the allocation's order (srun's default block
# distribution; mpirun --map-by ppr:N:node). SLURM_TASKS_PER_NODE is e.g. "2(x3),1".
ranks_by_node() {
  local counts=() part n next=0 i=0 node
  IFS=, read -ra parts <<<"${SLURM_TASKS_PER_NODE:-$ntasks}"
  for part in "${parts[@]}"; do
    if [[ "$part" =~ ^([0-9]+)\(x([0-9]+)\)$ ]]; then
      for ((n = 0; n < BASH_REMATCH[2]; n++)); do counts+=("${BASH_REMATCH[1]}"); done
    else
      counts+=("$part")
    fi
  done
  for node in $(scontrol show hostnames "${SLURM_JOB_NODELIST:-}" 2>/dev/null); do
    echo "$node $next $((next + ${counts[i]:-1} - 1))"
    next=$((next + ${counts[i]:-1})) i=$((i + 1))
  done
}

# answers [SRUN OPTIONS...]: runs `true` as a step without PMIx, 20 s at most. --overlap: a failed
# step may still hold its CPUs (its part on a lost node never reports back), which would otherwise
# delay this one.
answers() { timeout 20 srun --overlap --time=1 "$@" true >/dev/null 2>&1; }

# lost_nodes: the nodes of the allocation that do not answer, one per line as "NODE (ranks A..B)";
# the probes run side by side.
lost_nodes() {
  local node first last probes=()
  while read -r node first last; do
    local ranks="ranks $first..$last"
    [ "$first" != "$last" ] || ranks="rank $first"
    ( answers --nodes=1 --ntasks=1 --nodelist="$node" || echo "$node ($ranks)" ) &
    probes+=($!)
  done < <(ranks_by_node)
  [ ${#probes[@]} -eq 0 ] || wait "${probes[@]}"
}

# requeue WHY: scontrol requeue, unless the job has been requeued SATCLIP_MAX_REQUEUES times.
requeue() {
  if [ "$restarts" -lt "$max_requeues" ]; then
    log "$1: requeueing job $SLURM_JOB_ID (it resumes with --resume auto)"
    scontrol requeue "$SLURM_JOB_ID" || log "error: scontrol requeue failed; resubmit this script to continue"
  else
    log "$1, but the job was already requeued $restarts times (SATCLIP_MAX_REQUEUES): not requeueing"
  fi
}

# (A binary inside a pyxis container image is not on the host to check.)
[ -x "$bin" ] || [[ "${SATCLIP_SRUN_ARGS:-}" == *--container-image* ]] || { log "error: $bin is not an executable satclip-ddp; set SATCLIP_BIN or SATCLIP_HOME"; exit 2; }
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
    cmd=(srun --mpi=pmix --kill-on-bad-exit=1 "${cpt[@]}" ${SATCLIP_SRUN_ARGS:-} "$bin" "${args[@]}") ;;
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
if [ "$restarts" -gt 0 ] && [ "$launcher" = srun ]; then
  # A requeued job numbers its steps from 0 again. On a node whose step daemon was killed in the
  # earlier run (a lost node), Slurm's PMIx plugin can still hold that step's socket and refuses
  # a new step with the same number ("Cannot bind() UNIX socket .../stepd.slurm.pmix.JOB.0:
  # Address already in use", then "task launch failed"). A first step without PMIx takes the
  # number, and shows that every node answers.
  if answers --ntasks-per-node=1; then
    log "every node answers"
  else
    log "warning: not every node ran \`srun true\`; launching anyway"
  fi
fi
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
  requeue "checkpointed"
elif [ "$rc" -ne 0 ] && [ "${SLURM_JOB_NUM_NODES:-1}" -gt 1 ] && [ "${SATCLIP_REQUEUE_ON_NODE_LOSS:-1}" = 1 ]; then
  log "checking that every node of the job still answers"
  mapfile -t lost < <(lost_nodes)
  if [ ${#lost[@]} -gt 0 ]; then
    log "lost node(s): ${lost[*]}: they do not answer srun"
    requeue "node lost"
  else
    log "every node answers: the failure is not a lost node (read the ranks' logs); not requeueing"
  fi
fi
exit "$rc"
