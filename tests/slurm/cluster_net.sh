# Node namespaces for a multi-node test cluster on one machine (sourced by cluster.sh).
#
# Node K (1..N) is a network namespace P-nodeK plus a UTS namespace whose host name is nodeK; its
# eth0 has address NET.(10+K)/24. The nodes' links meet on a bridge inside a switch namespace P-sw
# (so the host's firewall and bridge-netfilter settings never see the traffic), and the host joins
# that bridge through one veth with address NET.1, where slurmctld listens. P (the prefix, "sc" and
# four hex digits) and NET (10.213.X) are derived from the cluster folder, so two clusters in two
# folders do not collide. Every namespace and link made is written to
# DIR/net.made before it is made; net_remove undoes exactly those.
#
# Needs: root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2 (`ip`), util-linux (`unshare`,
# `nsenter`), a kernel with network namespaces, veth and bridge support.

net_names() {  # sets P and NET from $dir
  local h
  h=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
  P=$(printf 'sc%04x' $((h % 65536)))
  NET="10.213.$((20 + (h / 65536) % 200))"
}
node_addr() { echo "$NET.$((10 + $1))"; }
node_ns() { echo "$P-node$1"; }

# Records one thing made (kind name) before making it, so a failure half-way is still undone.
made() { echo "$1 $2" >> "$dir/net.made"; }

net_check() {
  local tool
  for tool in ip unshare nsenter; do
    command -v "$tool" >/dev/null ||
      fail "$tool not found: a multi-node test cluster needs iproute2 and util-linux (scripts/setup.sh installs them)"
  done
  local probe="$P-probe" err
  if ! err=$(ip netns add "$probe" 2>&1); then
    fail "cannot create a network namespace ('ip netns add' said: $err): the multi-node cluster needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN and a kernel with network namespaces (in a container: --privileged or --cap-add SYS_ADMIN,NET_ADMIN)"
  fi
  ip netns del "$probe"
  if ! err=$(unshare --uts true 2>&1); then
    fail "cannot create a UTS namespace ('unshare --uts' said: $err): each node needs its own host name"
  fi
}

# net_make N: the switch, the host's port, N node namespaces with their links, and DIR/hosts (the
# nodes' /etc/hosts: every node knows every node and the host).
net_make() {
  local n=$1 sw="$P-sw" k ns
  made netns "$sw"
  ip netns add "$sw" || fail "ip netns add $sw failed"
  ip -n "$sw" link add br0 type bridge || fail "no bridge in $sw (kernel module bridge missing?)"
  ip -n "$sw" link set br0 up && ip -n "$sw" link set lo up
  made link "${P}h"
  ip link add "${P}h" type veth peer name host netns "$sw" || fail "cannot create a veth pair (kernel module veth missing?)"
  ip -n "$sw" link set host master br0 && ip -n "$sw" link set host up
  ip addr add "$NET.1/24" dev "${P}h" && ip link set "${P}h" up || fail "cannot give ${P}h address $NET.1"
  for ((k = 1; k <= n; k++)); do
    ns=$(node_ns "$k")
    made netns "$ns"
    ip netns add "$ns" || fail "ip netns add $ns failed"
    ip -n "$sw" link add "n$k" type veth peer name eth0 netns "$ns" || fail "cannot link node$k to the switch"
    ip -n "$sw" link set "n$k" master br0 && ip -n "$sw" link set "n$k" up
    ip -n "$ns" addr add "$(node_addr "$k")/24" dev eth0 && ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up ||
      fail "cannot configure eth0 of node$k"
  done
  { echo "127.0.0.1 localhost"; echo "$NET.1 $host"; for ((k = 1; k <= n; k++)); do echo "$(node_addr "$k") node$k"; done; } \
    > "$dir/hosts"
}

# on_node K CMD...: runs CMD on node K: in its network namespace, under host name nodeK (a UTS
# namespace of its own), and in a private mount namespace where /etc/hosts is the nodes' list and
# /tmp (DIR/tmp/nodeK) and /dev/shm (a tmpfs) are the node's own, as on a real node: Slurm's PMIx
# plugin and Open MPI keep per-node files there under names that would collide between nodes.
# Everything else, the cluster folder and the test's run folders included, is the host's, shared
# by every node. Processes started there (slurmd, its job steps and ranks) keep these namespaces.
on_node() {
  local k=$1
  shift
  mkdir -p "$dir/tmp/node$k" && chmod 1777 "$dir/tmp/node$k"
  nsenter --net="/run/netns/$(node_ns "$k")" unshare --uts --mount -- sh -c \
    'hostname "$0" && mount --bind "$1" /etc/hosts && mount --bind "$2" /tmp && mount -t tmpfs -o size=1g tmpfs /dev/shm &&
     shift 3 && exec "$@"' "node$k" "$dir/hosts" "$dir/tmp/node$k" - "$@"
}

# node_pids K: every process in node K's network namespace.
node_pids() { ip netns pids "$(node_ns "$1")" 2>/dev/null; }

# net_kill_node K: SIGKILL to every process of node K (its slurmd, job steps and ranks).
net_kill_node() {
  local pids
  pids=$(node_pids "$1")
  [ -z "$pids" ] || kill -9 $pids 2>/dev/null
}

# Removes, newest first, what net.made lists; processes still inside a namespace are killed first.
net_remove() {
  [ -f "$dir/net.made" ] || return 0
  local kind name pids
  tac "$dir/net.made" | while read -r kind name; do
    case "$kind" in
      netns)
        pids=$(ip netns pids "$name" 2>/dev/null)
        [ -z "$pids" ] || { kill -9 $pids 2>/dev/null; sleep 0.2; }
        ip netns del "$name" 2>/dev/null ;;
      link) ip link del "$name" 2>/dev/null ;;
    esac
  done
  rm -f "$dir/net.made"
}
