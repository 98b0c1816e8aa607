#!/usr/bin/env bash
# (c) SIGTERM to one rank mid-run: all ranks stop at the same step boundary, write a checkpoint and
# exit 75; `--resume auto` continues; SIGUSR1 to the other rank later, and then to mpiexec (which
# forwards it), does the same; the final
# resume finishes with exactly the losses and weights of the uninterrupted run. A second SIGINT
# ends a run at once (130).
# Usage: signals.sh REFERENCE_RUN_DIR   (the uninterrupted np 2 run, a ctest fixture)
source "$(dirname "$0")/lib.sh"
ref=$1 dir="$WORK/run"

interrupt() {  # interrupt SIGNAL RANK|mpiexec AT_STEP [--resume auto]
  local sig=$1 rank=$2 at=$3
  shift 3
  start 2 "$dir" "$@"
  wait_step "$dir" "$at"
  local pids=($(ranks "$dir"))
  [ ${#pids[@]} -eq 2 ] || fail "expected 2 rank processes, found ${#pids[@]}"
  if [ "$rank" = mpiexec ]; then
    pkill -"$sig" -P "$job" -x "$(basename "$MPIEXEC")" || fail "no mpiexec under $job"  # job = timeout
  else
    kill -"$sig" "${pids[$rank]}"
  fi
  local t0=$SECONDS rc=0
  wait "$job" || rc=$?
  cp "$dir.log" "$dir.$sig.log"
  [ "$rc" -eq 75 ] || { tail -20 "$dir.log"; fail "SIG$sig to rank $rank: exit status $rc, expected 75"; }
  local latest
  latest=$(cat "$dir/checkpoints/latest")
  grep -q "checkpoint .*$latest written; exit status 75" "$dir.log" || fail "no checkpoint announced for $latest"
  "$EXPORT" --checkpoint "$dir/checkpoints/$latest" --info >/dev/null || fail "$latest is not complete"
  echo "SIG$sig to rank $rank at step >= $at: exit 75 after $((SECONDS - t0)) s, checkpoint $latest"
}
interrupt TERM 1 8
interrupt USR1 0 22 --resume auto
interrupt USR1 mpiexec 30 --resume auto  # Open MPI forwards SIGUSR1 to every rank
run 2 "$dir" --resume auto || { tail -20 "$dir.log"; fail "the final resume failed"; }
same_losses "$ref" "$dir" 1 40
same_files "$ref/checkpoints/step-00000040/model.pt" "$dir/checkpoints/step-00000040/model.pt"
pass "three signals, three resumes: the same 40 losses and bitwise the same final weights"

# A second SIGINT aborts at once (no checkpoint), one process without mpiexec.
"$DDP" "$RECIPE" --set "output.dir=$WORK/int" --set train.max_steps=1000 >"$WORK/int.log" 2>&1 &
pid=$!
wait_step "$WORK/int" 2
kill -INT $pid
sleep 0.1  # two signals sent back to back may merge into one
t0=$(date +%s.%N)
kill -INT $pid
rc=0; wait $pid || rc=$?
took=$(echo "$(date +%s.%N) - $t0" | bc)
[ "$rc" -eq 130 ] || fail "two SIGINTs: exit status $rc, expected 130"
[ "$(echo "$took < 5" | bc)" -eq 1 ] || fail "two SIGINTs: took ${took}s"
pass "a second SIGINT aborts in ${took}s with status 130"
