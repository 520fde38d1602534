#!/usr/bin/env bash
# e2e/cluster/down.sh — remove the local cluster completely.
#
#   e2e/cluster/down.sh [--purge]
#
# Stops every pod (through CRI, so CNI tears its network down) and every
# cluster process, then removes what could outlive them: mounts under the
# cluster's directories, pod network namespaces, cni0 and veth devices, the
# node bridge, iptables rules and chains (KUBE-*, CNI-*), kube-router's
# ipsets, kubelet cgroups and
# the state directory. containerd's image store ($BYRON_CACHE/containerd) is
# kept so the next bring-up needs no import; --purge removes it too.
# Idempotent: with nothing running it only checks.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PIDS=$STATE/pids
IPSET_PATTERN='^(inet6:)?(KUBE-SRC-|KUBE-DST-|TMP-)'
purge=0
[ "${1:-}" = --purge ] && purge=1

# stop SECONDS NAME...: TERM the processes in pids/NAME.pid together, KILL
# what is still running after SECONDS.
stop() {
  local limit=$1; shift
  local name pid pids=()
  for name in "$@"; do
    [ -f "$PIDS/$name.pid" ] || continue
    pid=$(cat "$PIDS/$name.pid")
    # only if that pid still is the process we started (not a reused pid)
    if kill -0 "$pid" 2>/dev/null && grep -qa -- "$name" "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid:$name")
    fi
    rm -f "$PIDS/$name.pid"
  done
  local end=$(( $(date +%s) + limit )) p left
  while :; do
    left=()
    for p in "${pids[@]}"; do kill -0 "${p%%:*}" 2>/dev/null && left+=("$p"); done
    [ ${#left[@]} -gt 0 ] || return 0
    [ "$(date +%s)" -lt "$end" ] || break
    sleep 0.1
  done
  for p in "${left[@]}"; do
    clog "${p#*:} did not stop in ${limit}s: SIGKILL"
    kill -KILL "${p%%:*}" 2>/dev/null
  done
  for p in "${left[@]}"; do
    while kill -0 "${p%%:*}" 2>/dev/null; do sleep 0.1; done
  done
}

ctr_alive() { [ -S "$CTR_SOCK" ] && timeout 5 ctr --address "$CTR_SOCK" version >/dev/null 2>&1; }

remove_pods() {
  ctr_alive || return 0
  local cri=(crictl --runtime-endpoint "unix://$CTR_SOCK" --image-endpoint "unix://$CTR_SOCK" --timeout 20s)
  if [ -x "$BIN/crictl" ]; then
    "${cri[@]}" rmp --all --force >/dev/null 2>&1 ||
      clog "warning: crictl rmp failed; cleaning up by hand"
  fi
  # anything not removed through CRI: kill tasks, delete containers
  local id
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do
    ctr_k8s tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1
  done
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do
    timeout 10 ctr --address "$CTR_SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1
  done
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do
    ctr_k8s containers delete "$id" >/dev/null 2>&1
  done
}

kill_shims() {
  # a shim is the parent of its containers' init processes (init.pid in each
  # task bundle); with the init, it is ours to end
  local f pid ppid
  for f in "$RUNDIR"/containerd/io.containerd.runtime.v2.task/*/*/init.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null) || continue
    [ -n "$pid" ] || continue
    ppid=$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')
    if [ -n "$ppid" ] && [ "$ppid" != 1 ] &&
       [[ $(ps -o comm= -p "$ppid" 2>/dev/null) == containerd-shim* ]]; then
      kill -KILL "$ppid" 2>/dev/null
    fi
    kill -KILL "$pid" 2>/dev/null
  done
  true
}

# Processes of pods that outlived their shim (containerd killed from outside):
# everything in the kubelet's pod cgroups is ours.
kill_pod_processes() {
  local f pid
  for f in $(find /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods \
               -name cgroup.procs 2>/dev/null); do
    while read -r pid; do
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    done <"$f"
  done
  true
}

unmount_under() {
  local dir=$1 m
  [ -e "$dir" ] || return 0
  # deepest first
  findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d) == 1' | sort -r | while read -r m; do
    m=$(printf '%b' "$m")   # findmnt escapes spaces as \x20
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || clog "warning: cannot unmount $m"
  done
}

# pod network namespaces: containerd keeps them under its state dir
# (netns_mounts_under_state_dir); unmounting frees them and their veths.
remove_netns() {
  local ns
  for ns in "$RUNDIR"/containerd/io.containerd.grpc.v1.cri/netns/cni-* ; do
    [ -e "$ns" ] || continue
    umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null
    rm -f "$ns"
  done
  # older runs (default location): those whose address is in the pod CIDR
  local prefix=${POD_CIDR%.*.*}.
  for ns in /var/run/netns/cni-*; do
    [ -e "$ns" ] || continue
    if ip -n "$(basename "$ns")" -o -4 addr show 2>/dev/null | grep -q " inet $prefix" ||
       ! ip -n "$(basename "$ns")" -o link show >/dev/null 2>&1; then
      umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null
      rm -f "$ns"
    fi
  done
}

remove_links() {
  local l
  if ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then
    for l in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
      ip link del "$l" 2>/dev/null
    done
    ip link del "$CNI_BRIDGE" 2>/dev/null
  fi
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && ip link del "$NODE_BRIDGE"
}

# Drop every KUBE-* / CNI-* / BYRON-* chain and every rule that mentions one, table by
# table; other rules are restored unchanged.
clean_iptables() {
  local cmd t dump try
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for t in filter nat mangle raw; do
      # retried: another program may hold the xtables lock or change the
      # table between our read and our write
      for try in 1 2 3 4 5; do
        dump=$("$cmd-save" -t "$t" 2>/dev/null) || break
        printf '%s\n' "$dump" | grep -qE 'KUBE-|CNI-|BYRON-' || break
        printf '%s\n' "$dump" | grep -vE 'KUBE-|CNI-|BYRON-' | "$cmd-restore" -w 5 -T "$t" 2>/dev/null && continue
        [ $try -lt 5 ] && sleep 0.5 || clog "warning: could not clean $cmd table $t"
      done
    done
  done
  conntrack -D -s "$POD_CIDR" >/dev/null 2>&1
  conntrack -D -d "$POD_CIDR" >/dev/null 2>&1
  # kube-router's ipsets (KUBE-SRC-*, KUBE-DST-*, TMP-*), once no rule uses them
  local set
  for set in $(ipset list -n 2>/dev/null | grep -E "$IPSET_PATTERN"); do ipset destroy "$set" 2>/dev/null; done
  true
}

# What the kubelet and containerd keep at fixed host paths, whatever their
# configured directories: shim sockets, the CNI result cache, the kubelet's
# device-plugin socket, /var/log/containers links to pod logs.
remove_host_leftovers() {
  local f a
  for f in "$RUNDIR"/containerd/io.containerd.runtime.v2.task/*/*/address; do
    [ -f "$f" ] || continue
    a=$(cat "$f" 2>/dev/null); a=${a#unix://}
    case $a in /run/containerd/s/*) rm -f "$a" ;; esac
  done
  rmdir /run/containerd/s /run/containerd 2>/dev/null   # only when empty
  rm -f /var/lib/cni/results/byron-* 2>/dev/null
  rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock
  rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null
  if [ -d /var/log/containers ]; then
    find /var/log/containers -maxdepth 1 -type l -lname "$STATE/pod-logs/*" -delete 2>/dev/null
  fi
  rmdir /var/log/containers /var/log/pods 2>/dev/null   # the kubelet makes them; only when empty
  true
}

remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  true
}

# verify_clean: fail, naming them, if any trace of the cluster is left.
verify_clean() {
  local left=()
  findmnt -rn -o TARGET | grep -qE "^($STATE|$RUNDIR|$CTR_ROOT)" && left+=("mounts under the cluster's directories")
  ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && left+=("$CNI_BRIDGE")
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && left+=("$NODE_BRIDGE")
  local v
  for v in $pod_veths; do
    ip link show "$v" >/dev/null 2>&1 && left+=("$v")
  done
  local cmd
  for cmd in iptables-save ip6tables-save; do
    command -v "$cmd" >/dev/null && "$cmd" 2>/dev/null | grep -qE 'KUBE-|CNI-|BYRON-' &&
      left+=("$cmd: KUBE-/CNI-/BYRON- rules ($("$cmd" 2>/dev/null | grep -E 'KUBE-|CNI-|BYRON-' | head -3 | tr '\n' ';'))")
  done
  ipset list -n 2>/dev/null | grep -qE "$IPSET_PATTERN" && left+=("ipsets $(ipset list -n | grep -E "$IPSET_PATTERN" | head -3 | tr '\n' ' ')")
  [ -d "$RUNDIR" ] && left+=("$RUNDIR")
  [ -d "$STATE" ] && left+=("$STATE")
  ls -d /sys/fs/cgroup/*/kubepods >/dev/null 2>&1 && left+=("kubepods cgroups")
  if [ ${#left[@]} -gt 0 ]; then
    clog "left behind: ${left[*]}"
    return 1
  fi
}

main() {
  [ "$(id -u)" -eq 0 ] || cdie "down.sh needs root"
  cluster_lock
  # the pods' host-side veths, to check at the end that they are gone
  pod_veths=$(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1)
  clog "tearing down the local cluster"
  stop 15 kubelet            # first: it would restart the pods
  remove_pods
  stop 20 kube-router kube-proxy kube-scheduler kube-controller-manager kube-apiserver
  stop 15 etcd containerd
  kill_shims
  kill_pod_processes
  remove_host_leftovers
  unmount_under "$STATE"
  unmount_under "$RUNDIR"
  unmount_under "$CTR_ROOT"
  remove_netns
  remove_links
  clean_iptables
  remove_cgroups
  # the host's sysctls as they were before up.sh
  if [ -f "$STATE/host-sysctl.saved" ]; then
    sysctl -q -p "$STATE/host-sysctl.saved" >/dev/null 2>&1 || clog "warning: could not restore sysctls"
  fi
  rm -rf "$STATE" "$RUNDIR"
  if [ $purge -eq 1 ]; then
    rm -rf "$CTR_ROOT"
  else
    # the image store stays; drop containerd's leftover container metadata
    :
  fi
  verify_clean || return 1
  clog "local cluster removed"
}

main "$@"
exit $?
