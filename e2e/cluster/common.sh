# e2e/cluster/common.sh — shared settings of the local single-node cluster.
# Sourced by up.sh, down.sh, images.sh and the e2e tests; defines no side effects.
# shellcheck shell=bash

cluster_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$cluster_dir/../.." && pwd)
# shellcheck source=../../scripts/versions.env
. "$repo_root/scripts/versions.env"

BYRON_CACHE=${BYRON_CACHE:-$HOME/.cache/byron}
BIN=$BYRON_CACHE/bin
# Everything of one running cluster: pki, configs, logs, pids, etcd data,
# kubelet root, PV data. down.sh deletes it.
STATE=${BYRON_CLUSTER_STATE:-$BYRON_CACHE/cluster}
# Sockets and containerd's runtime state: short paths (unix socket limit).
RUNDIR=/run/byron-cluster
# containerd's content + snapshot store survives down.sh so that imported
# images stay imported (warm bring-up). `down.sh --purge` removes it.
CTR_ROOT=$BYRON_CACHE/containerd
CTR_SOCK=$RUNDIR/containerd.sock
IMAGES=$BYRON_CACHE/images          # image tarballs + input-hash keys
KUBECONFIG_FILE=$STATE/kubeconfig

# Addresses. The node address lives on a bridge (byron0) that up.sh creates,
# so it exists only inside this machine and does not depend on eth0.
NODE_NAME=byron-node
NODE_BRIDGE=byron0
NODE_IP=10.245.0.1
POD_CIDR=10.244.0.0/16
POD_GW=10.244.0.1
CNI_BRIDGE=cni0
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
API_PORT=6443
ETCD_CLIENT_PORT=23790   # not 2379: the integration tier may run its own etcd
ETCD_PEER_PORT=23800

CNI_BIN_DIR=${CNI_BIN_DIR:-/usr/lib/cni}

# Fully qualified image names, as a user's manifests would name them.
PAUSE_IMAGE=registry.k8s.io/pause:$PAUSE_VERSION
COREDNS_IMAGE=registry.k8s.io/coredns/coredns:$COREDNS_VERSION
DEBIAN_IMAGE=docker.io/library/debian:$DEBIAN_SUITE
DEBIAN_SLIM_IMAGE=docker.io/library/debian:$DEBIAN_SUITE-slim
NATS_IMAGE=docker.io/library/nats:${NATS_SERVER_VERSION#v}
FERRETDB_IMAGE=ghcr.io/ferretdb/ferretdb:${FERRETDB_VERSION#v}
LOCAL_PATH_IMAGE=docker.io/rancher/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION
PROBE_IMAGE=docker.io/byron/e2e-probe:dev
OPERATOR_IMAGE=docker.io/byron/operator:dev
SIDECAR_IMAGE=docker.io/byron/sidecar:dev
OPERATOR_PREVIOUS_IMAGE=docker.io/byron/operator:previous   # images.sh --previous (e2e.upgrade)
SIDECAR_PREVIOUS_IMAGE=docker.io/byron/sidecar:previous
# the example component's app (examples/orders/Dockerfile)
EXAMPLE_ORDERS_IMAGE=docker.io/byron/example-orders:dev
HYDRA_IMAGE=docker.io/oryd/hydra:${HYDRA_VERSION}  # the example's identity provider (examples/orders/identity.yaml)
TRAEFIK_IMAGE=docker.io/library/traefik:$TRAEFIK_VERSION  # the gateway of e2e.expose
# The Gateway API CRDs (standard channel), fetched by scripts/bootstrap.
GATEWAY_API_CRDS=$BYRON_CACHE/gateway-api/$GATEWAY_API_VERSION

export PATH="$BIN:$PATH"

clog() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
cdie() { clog "ERROR: $*"; exit 1; }

# wait_for DEADLINE_SECONDS DESCRIPTION COMMAND...: poll COMMAND until it
# succeeds or the deadline passes (then fail with DESCRIPTION).
wait_for() {
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$end" ]; then
      clog "timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# cluster_lock: one up.sh / down.sh at a time (fd 9; nested calls share it).
cluster_lock() {
  [ -n "${BYRON_CLUSTER_LOCKED:-}" ] && return 0
  mkdir -p "$BYRON_CACHE"
  exec 9>"$BYRON_CACHE/cluster.lock"
  flock -w 900 9 || cdie "another up.sh/down.sh holds $BYRON_CACHE/cluster.lock"
  export BYRON_CLUSTER_LOCKED=1
}

ctr_k8s() { ctr --address "$CTR_SOCK" -n k8s.io "$@"; }
