#!/usr/bin/env bash
# `mpirun -n 1` inside a 2-task allocation: SLURM_NTASKS=2 but the MPI world has 1 rank, so
# satclip-ddp refuses with a hint instead of training with half the job. (`srun --mpi=none` is
# refused by Open MPI itself before satclip-ddp starts: "direct launched using srun ...".)
source "$(dirname "$0")/lib.sh"
job=$(sbatch --parsable --ntasks=2 --output="$WORK/job-%j.out" \
      --wrap "mpirun -n 1 $DDP $SATCLIP_HOME/tests/train/data/parity.yaml --dry-run") || fail "sbatch failed"
state=$(wait_job "$job" 120)
grep -E "error|HINT" "$WORK/job-$job.out" | head -4
[ "$state" = FAILED ] || fail "job $job ended $state, expected FAILED"
grep -q "SLURM_NTASKS=2 but MPI sees a world of 1" "$WORK/job-$job.out" || fail "no clear error"
pass "mpirun -n 1 in a 2-task job: FAILED with the SLURM_NTASKS mismatch named"
