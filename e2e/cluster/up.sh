#!/usr/bin/env bash
# e2e/cluster/up.sh — bring up a real single-node Kubernetes on this machine.
#
#   e2e/cluster/up.sh            prints the kubeconfig path on stdout
#
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet on
# containerd + runc, CNI bridge/host-local/portmap, kube-proxy (iptables),
# CoreDNS and the local-path provisioner (default StorageClass). Every binary
# and image is built here (scripts/bootstrap cluster, e2e/cluster/images.sh);
# nothing is pulled. State, logs and pid files: $BYRON_CACHE/cluster.
# Idempotent: a healthy cluster is left as it is; a broken one is torn down
# (down.sh) and brought up again. Needs root.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

T0=$(date +%s.%N)
PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
CONF=$STATE/config

elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$T0" "$(date +%s.%N)"; }
kc() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# --- preflight ----------------------------------------------------------------------
preflight() {
  [ "$(id -u)" -eq 0 ] || cdie "up.sh needs root (kubelet, containerd, iptables, mounts)"
  local b missing=()
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kube-router kubectl crictl; do
    [ -x "$BIN/$b" ] || missing+=("$BIN/$b")
  done
  for b in containerd containerd-shim-runc-v2 runc ctr iptables ip6tables ipset conntrack openssl curl; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  for b in bridge host-local portmap loopback; do
    [ -x "$CNI_BIN_DIR/$b" ] || missing+=("$CNI_BIN_DIR/$b")
  done
  [ ${#missing[@]} -eq 0 ] || cdie "missing: ${missing[*]} — run scripts/bootstrap cluster"
}

# already up and healthy?
healthy() {
  [ -f "$KUBECONFIG_FILE" ] || return 1
  local p
  for p in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kube-router; do
    [ -f "$PIDS/$p.pid" ] && grep -qa -- "$p" "/proc/$(cat "$PIDS/$p.pid")/cmdline" 2>/dev/null || return 1
  done
  kc get --raw /readyz >/dev/null 2>&1 || return 1
  [ "$(kc get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# --- certificates (openssl, EC P-256) -------------------------------------------------
# cert NAME CN [O] [SANS] [serverAuth|clientAuth|both]
cert() {
  local name=$1 cn=$2 org=${3:-} sans=${4:-} usage=${5:-clientAuth}
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  local ext=$PKI/$name.ext
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    case $usage in
      serverAuth) echo "extendedKeyUsage=serverAuth" ;;
      both) echo "extendedKeyUsage=serverAuth,clientAuth" ;;
      *) echo "extendedKeyUsage=clientAuth" ;;
    esac
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" 2>/dev/null |
    openssl x509 -req -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 30 \
      -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$ext"
}

make_pki() {
  mkdir -p "$PKI"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=byron-local-ca" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/ca.crt" 2>/dev/null
  local svc="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
  cert apiserver kube-apiserver "" "$svc,DNS:localhost,DNS:$NODE_NAME,IP:$API_SERVICE_IP,IP:$NODE_IP,IP:127.0.0.1" serverAuth
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert admin kubernetes-admin system:masters
  cert controller-manager system:kube-controller-manager
  cert scheduler system:kube-scheduler
  cert kube-proxy system:kube-proxy
  cert kube-router system:kube-router
  cert kubelet "system:node:$NODE_NAME" system:nodes
  cert kubelet-serving "system:node:$NODE_NAME" system:nodes "DNS:$NODE_NAME,IP:$NODE_IP" serverAuth
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" 2>/dev/null
  openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
}

# kubeconfig FILE CERTNAME
kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: byron-local
  cluster:
    server: https://$NODE_IP:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: byron-local
  context: {cluster: byron-local, user: $2}
current-context: byron-local
EOF
}

# --- processes ----------------------------------------------------------------------
# start NAME COMMAND...: run in its own session, log to logs/NAME.log, pid file.
start() {
  local name=$1; shift
  # No inherited descriptor survives in the daemons: a lock the caller holds
  # (flock /tmp/byron-e2e.lock on fd 3, cluster_lock on fd 9) would otherwise
  # stay held for as long as the cluster runs.
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  echo $! >"$PIDS/$name.pid"
}

alive() { kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }

# wait_up NAME SECONDS COMMAND...: like wait_for, but fail fast if NAME died.
wait_up() {
  local name=$1 limit=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      tail -25 "$LOGS/$name.log" >&2
      cdie "$name exited; log: $LOGS/$name.log"
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
      tail -25 "$LOGS/$name.log" >&2
      cdie "$name not ready after ${limit}s; log: $LOGS/$name.log"
    fi
    sleep 0.2
  done
}

host_network() {
  # the host's values, for down.sh to put back
  sysctl -e net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables \
    net.bridge.bridge-nf-call-ip6tables 2>/dev/null | tr -d ' ' >"$STATE/host-sysctl.saved"
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null ||
    clog "warning: bridge-nf-call-iptables unavailable (pod-to-service on the same bridge may fail)"
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/32" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # Sealed: pod traffic may go to pods (cni0) and to this machine, never be
  # forwarded anywhere else (pods are not masqueraded either).
  if ! iptables -S BYRON-SEAL >/dev/null 2>&1; then
    iptables -N BYRON-SEAL
    iptables -A BYRON-SEAL -m comment --comment "byron local cluster: no pod egress" -j DROP
    iptables -I FORWARD -s "$POD_CIDR" ! -o "$CNI_BRIDGE" -j BYRON-SEAL
  fi
}

write_configs() {
  mkdir -p "$CONF" "$STATE/cni/net.d" "$STATE/cni/ipam" "$STATE/kubelet" "$STATE/local-path" "$RUNDIR"
  local k
  for k in admin controller-manager scheduler kube-proxy kube-router kubelet; do
    kubeconfig "$CONF/$k.kubeconfig" "$k"
  done
  cp "$CONF/admin.kubeconfig" "$KUBECONFIG_FILE"

  cat >"$CONF/containerd.toml" <<EOF
version = 2
root = "$CTR_ROOT"
state = "$RUNDIR/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CTR_SOCK"

[ttrpc]
  address = "$CTR_SOCK.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTR_ROOT/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_selinux = false
  # pod network namespaces under the state dir: down.sh finds them all there
  netns_mounts_under_state_dir = true
  # This machine's root lacks CAP_SYS_RESOURCE, so no process may lower its
  # oom_score_adj below containerd's (0): the sandbox's -998 and the kubelet's
  # negative scores for critical pods are clamped instead of failing runc.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUNDIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$STATE/cni/net.d"
EOF

  cat >"$STATE/cni/net.d/10-byron.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "byron",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

  # No upstream resolver for pods with dnsPolicy Default: the cluster is sealed.
  : >"$CONF/resolv.conf"
  cat >"$CONF/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CTR_SOCK
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
clusterDomain: $CLUSTER_DOMAIN
clusterDNS: [$DNS_SERVICE_IP]
resolvConf: $CONF/resolv.conf
podLogsDir: $STATE/pod-logs
failSwapOn: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
nodeStatusUpdateFrequency: 2s
syncFrequency: 10s
fileCheckFrequency: 10s
maxPods: 110
EOF

  cat >"$CONF/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
clientConnection: {kubeconfig: $CONF/kube-proxy.kubeconfig}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_IP/32"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: false, syncPeriod: 30s, minSyncPeriod: 0s}
EOF
}

start_etcd() {
  start etcd "$BIN/etcd" --name byron --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "byron=http://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls "" --unsafe-no-fsync --log-level warn
}

start_containerd() {
  mkdir -p "$CTR_ROOT"
  start containerd containerd --config "$CONF/containerd.toml"
}

start_apiserver() {
  start kube-apiserver "$BIN/kube-apiserver" \
    --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port="$API_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --client-ca-file="$PKI/ca.crt" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true --profiling=false --v=1
}

start_controllers() {
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$CONF/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$CONF/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$CONF/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --root-ca-file="$PKI/ca.crt" \
    --service-account-private-key-file="$PKI/sa.key" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --cluster-cidr="$POD_CIDR" \
    --controllers='*,-cloud-node-lifecycle' --profiling=false --v=1
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$CONF/scheduler.kubeconfig" \
    --authentication-kubeconfig="$CONF/scheduler.kubeconfig" \
    --authorization-kubeconfig="$CONF/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1
}

start_node() {
  start kubelet "$BIN/kubelet" --config="$CONF/kubelet.yaml" \
    --kubeconfig="$CONF/kubelet.kubeconfig" --root-dir="$STATE/kubelet" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
  start kube-proxy "$BIN/kube-proxy" --config="$CONF/kube-proxy.yaml" --v=1
}

# NetworkPolicy enforcement (the bridge CNI has none): kube-router's firewall
# alone, on the host like kube-proxy, once its RBAC (addons/kube-router.yaml)
# is in. Traffic from the node itself (the kubelet's probes) stays allowed, as
# Kubernetes expects.
start_firewall() {
  start kube-router "$BIN/kube-router" --kubeconfig="$CONF/kube-router.kubeconfig" \
    --hostname-override="$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
    --health-port=0 --metrics-port=0 --iptables-sync-period=1m --v=1
}

# --- add-ons ------------------------------------------------------------------------
apply_addons() {
  local f
  for f in "$cluster_dir"/addons/*.yaml; do
    echo "---"
    sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" -e "s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|g" \
      -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" \
      -e "s|@LOCAL_PATH_IMAGE@|$LOCAL_PATH_IMAGE|g" -e "s|@HELPER_IMAGE@|$DEBIAN_IMAGE|g" \
      -e "s|@LOCAL_PATH_DIR@|$STATE/local-path|g" "$f"
  done >"$CONF/addons.yaml"
  kc apply -f "$CONF/addons.yaml" >"$LOGS/addons.log" 2>&1 ||
    { cat "$LOGS/addons.log" >&2; cdie "applying add-ons failed"; }
}

node_ready() {
  [ "$(kc get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

main() {
  preflight
  cluster_lock
  if healthy; then
    clog "cluster already up; refreshing images that changed"
    "$cluster_dir/images.sh" --import >"$LOGS/images-build.log" 2>&1 ||
      clog "warning: image refresh failed: $LOGS/images-build.log"
    apply_addons
    echo "$KUBECONFIG_FILE"
    return 0
  fi
  if [ -d "$STATE" ] || [ -d "$RUNDIR" ]; then
    clog "stale or partial cluster state: tearing it down first"
    "$cluster_dir/down.sh" >&2
  fi
  mkdir -p "$STATE" "$LOGS" "$PIDS" "$RUNDIR"
  clog "bringing up the local cluster (state: $STATE)"

  host_network
  make_pki
  write_configs
  start_etcd
  start_containerd

  # Images: build whatever changed (cached: seconds when nothing did) and
  # import it while the control plane starts. The Debian base first; then the
  # cluster's own images (built and imported) and the project's (operator,
  # sidecar: Dockerfile builds, the long pole when cold) side by side.
  wait_up containerd 30 ctr --address "$CTR_SOCK" version
  rm -f "$STATE"/images-*.rc
  (
    set +e
    "$cluster_dir/images.sh" debian >"$LOGS/images-base.log" 2>&1
    "$cluster_dir/images.sh" operator sidecar example-orders >"$LOGS/images-project.log" 2>&1 &
    project=$!
    "$cluster_dir/images.sh" --import pause coredns local-path-provisioner debian probe nats ferretdb hydra traefik \
      >"$LOGS/images-cluster.log" 2>&1
    echo $? >"$STATE/images-cluster.rc"
    wait $project; rc=$?
    "$cluster_dir/images.sh" --import-only operator sidecar example-orders >>"$LOGS/images-project.log" 2>&1 || rc=1
    echo $rc >"$STATE/images-project.rc"
  ) &
  local images_pid=$!
  wait_up etcd 30 curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
  start_apiserver
  wait_up kube-apiserver 60 kc get --raw /readyz
  clog "api server ready ($(elapsed)s)"
  start_controllers
  start_node
  apply_addons
  wait_up kubelet 60 node_ready
  start_firewall   # after the node registered: kube-router looks itself up by it at start, and exits without it
  wait_up kube-router 60 iptables -w 5 -n -L KUBE-ROUTER-FORWARD
  clog "node $NODE_NAME Ready ($(elapsed)s)"
  wait_for 600 "the cluster's images" test -s "$STATE/images-cluster.rc" ||
    cdie "the cluster's images are not ready after 600s: $LOGS/images-cluster.log"
  if [ "$(cat "$STATE/images-cluster.rc")" != 0 ]; then
    tail -20 "$LOGS/images-base.log" "$LOGS/images-cluster.log" >&2
    cdie "building/importing the cluster's images failed: $LOGS/images-cluster.log"
  fi
  clog "cluster images imported ($(elapsed)s)"
  wait_up kube-controller-manager 60 kc -n default get serviceaccount default
  kc -n kube-system wait --for=condition=Available deployment/coredns --timeout=90s >/dev/null ||
    { kc -n kube-system get pods -o wide >&2; cdie "CoreDNS not Available after 90s"; }
  clog "CoreDNS Available ($(elapsed)s)"
  kc -n local-path-storage wait --for=condition=Available deployment/local-path-provisioner --timeout=60s >/dev/null ||
    { kc -n local-path-storage get pods -o wide >&2; cdie "local-path-provisioner not Available after 60s"; }
  wait "$images_pid"
  if [ "$(cat "$STATE/images-project.rc" 2>/dev/null)" = 0 ]; then
    clog "project images (operator, sidecar, example-orders) imported ($(elapsed)s)"
  else
    tail -5 "$LOGS/images-project.log" >&2
    clog "warning: the operator/sidecar/example images did not build: $LOGS/images-project.log"
  fi
  clog "cluster up in $(elapsed)s; export KUBECONFIG=$KUBECONFIG_FILE"
  echo "$KUBECONFIG_FILE"
}

main "$@"
exit $?
