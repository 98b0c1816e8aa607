#!/usr/bin/env bash
# A private SLURM cluster for the tests (see slurm/README.md, "Trying the scripts locally"):
#   cluster.sh start DIR [--nodes N]  starts munged (if none runs), slurmctld and N slurmd with a
#                                     config in DIR, waits until every node is idle, prints
#                                     `export SLURM_CONF=DIR/slurm.conf`. N = 1 (default): one
#                                     slurmd on this host under its own name. N >= 2: node1..nodeN,
#                                     each a network + UTS namespace with its own host name and
#                                     address on a private bridge (cluster_net.sh); slurmctld stays
#                                     on the host; the file system is shared as on a cluster.
#   cluster.sh stop DIR               stops the daemons it started, by the PIDs in DIR, and removes
#                                     every namespace and link it made (DIR/net.made)
#   cluster.sh kill-node DIR K        SIGKILL to everything of node K: its slurmd, steps and ranks
#   cluster.sh start-node DIR K       starts node K's slurmd again (the node returns)
#   cluster.sh on DIR K CMD...        runs CMD on node K (its network and host name)
# Needs root and the Debian packages slurm-wlm and munge (scripts/setup.sh installs them); N >= 2
# also iproute2 and network namespaces. Fails (exit 1) saying what is missing: the SLURM tests must
# not pass by skipping.
set -u
usage="usage: cluster.sh start DIR [--nodes N] | stop DIR | kill-node DIR K | start-node DIR K | on DIR K CMD..."
cmd=${1:?$usage} dir=${2:?$usage}
shift 2
starting=0
# A failed start stops what it had started, namespaces included.
fail() {
  echo "cluster.sh: $*" >&2
  [ "$starting" = 1 ] && { starting=0; stop; }
  exit 1
}
source "$(dirname "$0")/cluster_net.sh"
[ "$cmd" != start ] || mkdir -p "$dir" || fail "cannot create $dir"
[ ! -d "$dir" ] || dir=$(cd "$dir" && pwd -P)  # one spelling: the namespace names derive from it
net_names
host=$(hostname -s)

stop_pid() {  # stop_pid PIDFILE: SIGTERM, up to 5 s, then SIGKILL
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
}
stop() {
  local f
  for f in "$dir"/slurmd*.pid; do stop_pid "$f"; done
  stop_pid "$dir/slurmctld.pid"
  stop_pid "$dir/munged.pid"
  net_remove
}
nodes_of() { cat "$dir/nodes" 2>/dev/null || echo 1; }
node_arg() {
  local k=${1:?$usage} n
  n=$(nodes_of)
  [[ "$k" =~ ^[0-9]+$ ]] && [ "$k" -ge 1 ] && [ "$k" -le "$n" ] && [ "$n" -ge 2 ] ||
    fail "node '$k': the cluster in $dir has node1..node$n in namespaces only when started with --nodes 2 or more"
  echo "$k"
}
export SLURM_CONF="$dir/slurm.conf"

# Starts daemon "$@" (its log: log/$log.log); when it fails, stops what this script started and
# quotes the daemon's errors (e.g. slurmd: "No filesystem mounted on /sys/fs/cgroup": Slurm 22.05
# needs a cgroup file system mounted even with proctrack/linuxproc and task/none).
start_daemon() {
  local log=$1
  shift
  "$@" && return 0
  local why
  why=$(grep -m 3 'error:' "$dir/log/$log.log" 2>/dev/null | sed 's/^\[[^]]*\] error: //' | paste -sd ';' - | sed 's/;/; /g')
  fail "$log did not start${why:+: $why} (see $dir/log/$log.log)"
}
start_node() { start_daemon "slurmd-node$1" on_node "$1" slurmd -N "node$1"; }

# wait_idle: until sinfo shows all $(nodes_of) nodes idle (20 s).
wait_idle() {
  local states="" want
  want=$(nodes_of)
  for _ in $(seq 100); do
    states=$(sinfo -h -N -o '%N=%t' 2>/dev/null | sort -u)
    [ "$(grep -c '=idle$' <<<"$states")" -eq "$want" ] && return 0
    sleep 0.2
  done
  tail -5 "$dir"/log/*.log >&2
  fail "not every node is idle: $(paste -sd ' ' <<<"$states")"
}

# wait_responding NODE: until slurmctld hears from NODE again (its state loses the '*'; 30 s).
wait_responding() {
  local state=""
  for _ in $(seq 150); do
    state=$(sinfo -h -n "$1" -o %t 2>/dev/null)
    case "$state" in ""|*'*'|down*) sleep 0.2 ;; *) return 0 ;; esac
  done
  fail "$1 did not register with slurmctld (state '$state'; see $dir/log/slurmd-$1.log)"
}

case "$cmd" in
  stop) stop; exit 0 ;;
  kill-node) k=$(node_arg "${1:-}") || exit 1; net_kill_node "$k"; rm -f "$dir/slurmd-node$k.pid"; exit 0 ;;
  start-node)  # as after a reboot: the node's /tmp starts empty
    k=$(node_arg "${1:-}") || exit 1
    rm -rf "${dir:?}/tmp/node$k"
    start_node "$k"
    wait_responding "node$k"
    exit 0 ;;
  on) k=$(node_arg "${1:-}") || exit 1; shift; on_node "$k" "$@"; exit $? ;;
  start) ;;
  *) fail "unknown command '$cmd' ($usage)" ;;
esac
nodes=1
if [ $# -gt 0 ]; then
  [ "$1" = --nodes ] && [[ "${2:-}" =~ ^[1-9][0-9]?$ ]] || fail "start: expected --nodes N (1..99), got '$*'"
  nodes=$2
fi
for bin in munged slurmctld slurmd sbatch scontrol sinfo; do
  command -v "$bin" >/dev/null || fail "$bin not found: install the Debian packages slurm-wlm and munge (scripts/setup.sh does)"
done
[ "$(id -u)" -eq 0 ] || fail "needs root (the daemons run as root in this test cluster)"
mkdir -p "$dir"/{state,spool,log}
case "$dir/" in
  /tmp/*) [ "$nodes" -eq 1 ] || fail "$dir is under /tmp, which each node has to itself: put the cluster folder elsewhere" ;;
esac
stop  # leftovers of an earlier run in the same folder
rm -rf "$dir"/log/* "$dir"/spool/* "$dir"/tmp
starting=1
echo "$nodes" > "$dir/nodes"

# Munge: one daemon per machine; start ours only when none answers. Its socket is a file, so
# the nodes' namespaces reach it too.
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

mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
if [ "$nodes" -eq 1 ]; then
  ctl=$host
  node_lines="NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN"
  partition=$host
  mkdir -p "$dir/spool/$host"
else
  net_check
  net_make "$nodes"
  ctl="$host($NET.1)"
  node_lines=$(for ((k = 1; k <= nodes; k++)); do
    echo "NodeName=node$k NodeHostname=node$k NodeAddr=$(node_addr "$k") CPUs=$(nproc) RealMemory=$mem State=UNKNOWN"
  done)
  partition="node[1-$nodes]"
  for ((k = 1; k <= nodes; k++)); do mkdir -p "$dir/spool/node$k"; done
fi
cat > "$dir/slurm.conf" <<CONF
ClusterName=satclip-test
SlurmctldHost=$ctl
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldPort=$(( (nodes == 1 ? 16817 : 19817) + RANDOM % 1000 ))
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
$node_lines
PartitionName=debug Nodes=$partition Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
start_daemon slurmctld slurmctld
if [ "$nodes" -eq 1 ]; then
  start_daemon "slurmd-$host" slurmd
else
  for ((k = 1; k <= nodes; k++)); do start_node "$k"; done
fi
wait_idle
starting=0
echo "export SLURM_CONF=$dir/slurm.conf"
