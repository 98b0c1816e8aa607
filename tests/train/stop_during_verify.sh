#!/usr/bin/env bash
# A stop signal during data.verify, with real ranks (np 2) and real satclip-pack children. One
# rank's satclip-pack is stalled with SIGSTOP (as on a hung network file system: left alone, the
# check would never end), then a rank gets SIGUSR1: that rank (WHO = self), or the other one
# (WHO = other, whose own check may already be done). Every rank kills its satclip-pack at once
# (SIGTERM, then SIGKILL), both ranks exit 75 before the first step with nothing written, no
# verifier is left behind, and (self) `--resume auto` then verifies the directory and trains.
# Usage: stop_during_verify.sh MPIEXEC SATCLIP_DDP SATCLIP_SYNTH RECIPE WORKDIR [self|other]
set -u
mpi=$1 ddp=$2 synth=$3 recipe=$4 work=$5 who=${6:-self}
fail() { echo "FAIL: $*"; exit 1; }
# The kernel's one-letter state of a process (R, S, T, Z, ...); empty when it is gone. The field
# after the last ')' of /proc/PID/stat, since the command name in parentheses may hold spaces.
state_of() { local s; s=$(cat "/proc/$1/stat" 2> /dev/null) || return 0; s=${s##*) }; echo "${s%% *}"; }
rm -rf "$work" && mkdir -p "$work" || fail "cannot make $work"
"$synth" --count 256 --size 32 --shards 8 --out "$work/data" > /dev/null || fail "satclip-synth"
common=(--set data.verify=true --set "data.path=$work/data" --set train.max_steps=2 --set data.val_fraction=0
        --set checkpoint.every_steps=0)
verifier="satclip-pack --verify $work/data"

# A satclip-pack may finish before this loop sees it (it lives about half a second): then the run
# trains, and the next attempt starts again in a new output.dir.
pack="" run=""
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  run=$work/run-$attempt
  timeout 300 "$mpi" -n 2 "$ddp" "$recipe" --set "output.dir=$run" "${common[@]}" > "$work/log-$attempt" 2>&1 &
  job=$!
  pack=""
  while kill -0 "$job" 2> /dev/null; do
    ranks=$(pgrep -d, -x satclip-ddp) && pack=$(pgrep -P "$ranks" -f -- "$verifier" | head -n 1)
    [ -n "$pack" ] && kill -STOP "$pack" 2> /dev/null && break
    pack=""
    sleep 0.005
  done
  # Stalled only once the kernel says so (state T); else it finished first, or the stop was lost.
  for _ in $(seq 100); do
    [ -z "$pack" ] || [ "$(state_of "$pack")" = T ] && break
    sleep 0.01
  done
  if [ -n "$pack" ] && [ "$(state_of "$pack")" != T ]; then
    kill -CONT "$pack" 2> /dev/null  # not to stall it later, unseen
    pack=""
  fi
  [ -n "$pack" ] && break
  wait "$job"
  echo "attempt $attempt: satclip-pack was done before it could be stalled; again"
done
[ -n "$pack" ] || fail "no satclip-pack --verify seen in 10 attempts"
rank=$(ps -o ppid= -p "$pack" | tr -d ' ')
if [ "$who" = other ]; then
  stalled=$rank
  rank=$(pgrep -P "$(ps -o ppid= -p "$stalled" | tr -d ' ')" -x satclip-ddp | grep -vx "$stalled" | head -n 1)
  [ -n "$rank" ] || fail "no other rank process beside $stalled"
fi
echo "satclip-pack $pack stalled with SIGSTOP; SIGUSR1 to rank process $rank ($who)"
start=$(date +%s)
kill -USR1 "$rank" || fail "cannot signal rank process $rank"
wait "$job"
rc=$?
secs=$(( $(date +%s) - start ))
log=$work/log-$attempt
tail -n 5 "$log"
[ $rc -eq 75 ] || fail "exit status $rc after SIGUSR1 during data.verify (expected 75)"
[ $secs -le 30 ] || fail "$secs s from the signal to the end (the check must end at once, not wait)"
said="SIGUSR1 received during data.verify (rank [01]): stopped before the first step, nothing to checkpoint"
grep -q "$said" "$log" || fail "no line saying where it stopped"
grep -q "error:" "$log" && fail "an error line for a stop"
for f in verified-shards.txt metrics.jsonl checkpoints/latest; do
  [ -e "$run/$f" ] && fail "$run/$f written by a run stopped during data.verify"
done
state=$(state_of "$pack")
[ -z "$state" ] || [ "$state" = Z ] || fail "the stalled satclip-pack $pack is still there (state $state)"
left=$(pgrep -f -- "$verifier")
[ -z "$left" ] || fail "verifiers left behind: $(ps -o pid=,stat=,args= -p "${left//$'\n'/,}")"

if [ "$who" = other ]; then
  echo "PASS: the other rank's signal stopped the stalled check in ${secs} s, exit status 75"
  exit 0
fi

# Requeued: the same command with --resume auto verifies (nothing was recorded) and trains.
out=$(timeout 300 "$mpi" -n 2 "$ddp" "$recipe" --set "output.dir=$run" "${common[@]}" --resume auto 2>&1)
rc=$?
[ $rc -eq 0 ] || { echo "$out" | tail -n 20; fail "the requeued run exited $rc"; }
echo "$out" | grep -q "reading back every tile" || fail "the requeued run did not verify"
[ -s "$run/verified-shards.txt" ] || fail "no record after the requeued run's verification"
echo "PASS: stopped in ${secs} s with exit status 75; the requeued run verified and trained"
