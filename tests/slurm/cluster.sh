#!/usr/bin/env bash
# A private one-node SLURM cluster for the tests (see shared/reference/SLURM_LOCAL.md):
#   cluster.sh start DIR   starts munged (if none runs), slurmctld and slurmd with a config in DIR,
#                          waits until the node is idle, prints `export SLURM_CONF=DIR/slurm.conf`
#   cluster.sh stop DIR    stops the daemons it started, by the PIDs in DIR
# Needs root and the Debian packages slurm-wlm and munge (scripts/setup.sh installs them). Fails
# (exit 1) when they are missing: the SLURM tests must not pass by skipping.
set -u
cmd=${1:?usage: cluster.sh start|stop DIR} dir=${2:?usage: cluster.sh start|stop DIR}
fail() { echo "cluster.sh: $*" >&2; exit 1; }

stop() {
  for name in slurmd slurmctld munged; do
    local pidfile="$dir/$name.pid"
    [ -f "$pidfile" ] || continue
    local pid
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || fail "unknown command $cmd"
for bin in munged slurmctld slurmd sbatch scontrol sinfo; do
  command -v "$bin" >/dev/null || fail "$bin not found: install the Debian packages slurm-wlm and munge (scripts/setup.sh does)"
done
[ "$(id -u)" -eq 0 ] || fail "needs root (the daemons run as root in this test cluster)"
mkdir -p "$dir"/{state,spool,log}
stop  # leftovers of an earlier run in the same folder

# Munge: one daemon per machine; start ours only when none answers.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -f /etc/munge/munge.key ] || fail "/etc/munge/munge.key is missing (reinstall munge)"
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- munged --force || fail "munged did not start"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  cp /run/munge/munged.pid "$dir/munged.pid" 2>/dev/null || pgrep -u munge -x munged | tail -1 > "$dir/munged.pid"
fi
munge -n | unmunge >/dev/null 2>&1 || fail "munge does not work (munge -n | unmunge)"

host=$(hostname -s)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=satclip-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=$(( 16817 + RANDOM % 1000 ))
SlurmdPort=$(( 17818 + RANDOM % 1000 ))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=5
AuthInfo=cred_expire=10
MinJobAge=600
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$dir/slurm.conf"
# Starts daemon $1; when it fails, stops what this script started and quotes the daemon's errors
# (e.g. slurmd: "No filesystem mounted on /sys/fs/cgroup": Slurm 22.05 needs a cgroup file system
# mounted even with proctrack/linuxproc and task/none).
start_daemon() {
  "$1" && return 0
  local why
  why=$(grep -m 3 'error:' "$dir/log/$1.log" 2>/dev/null | sed 's/^\[[^]]*\] error: //' | paste -sd ';' - | sed 's/;/; /g')
  stop
  fail "$1 did not start${why:+: $why} (see $dir/log/$1.log)"
}
start_daemon slurmctld
start_daemon slurmd
for _ in $(seq 100); do
  state=$(sinfo -h -o %t 2>/dev/null | head -1)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || { tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2; fail "the node is '$state', not idle"; }
echo "export SLURM_CONF=$dir/slurm.conf"
