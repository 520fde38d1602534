#!/usr/bin/env bash
# e2e/cluster/fixture.sh up|down ENVFILE — the ctest fixture of the e2e tier.
#
#   up    $KUBECONFIG set: use that cluster (it must answer /readyz).
#         Otherwise use the local cluster: if it is already running, as it is;
#         if not, bring it up with up.sh and remember that we did.
#         Writes ENVFILE: KUBECONFIG=..., BROUGHT_UP=0|1, LOCAL=0|1.
#   down  take the local cluster down if `up` brought it up.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cmd=${1:?up|down}; envfile=${2:?ENVFILE}

case $cmd in
  up)
    mkdir -p "$(dirname "$envfile")"
    if [ -n "${KUBECONFIG:-}" ]; then
      clog "e2e: using the cluster of KUBECONFIG=$KUBECONFIG"
      kubectl get --raw /readyz >/dev/null || cdie "the cluster of \$KUBECONFIG does not answer /readyz"
      local_=0; [ "$KUBECONFIG" = "$KUBECONFIG_FILE" ] && local_=1
      printf 'KUBECONFIG=%s\nBROUGHT_UP=0\nLOCAL=%s\n' "$KUBECONFIG" "$local_" >"$envfile"
      exit 0
    fi
    if [ -f "$KUBECONFIG_FILE" ] && kubectl --kubeconfig "$KUBECONFIG_FILE" get --raw /readyz >/dev/null 2>&1; then
      clog "e2e: the local cluster is already up; using it (and leaving it up)"
      "$cluster_dir/up.sh" >/dev/null   # no-op when healthy; imports changed images
      printf 'KUBECONFIG=%s\nBROUGHT_UP=0\nLOCAL=1\n' "$KUBECONFIG_FILE" >"$envfile"
      exit 0
    fi
    t0=$(date +%s)
    # written first: should up.sh fail half-way, the clean-up still takes it down
    printf 'KUBECONFIG=%s\nBROUGHT_UP=1\nLOCAL=1\n' "$KUBECONFIG_FILE" >"$envfile"
    kc=$("$cluster_dir/up.sh")
    clog "e2e: local cluster up in $(( $(date +%s) - t0 ))s"
    printf 'KUBECONFIG=%s\nBROUGHT_UP=1\nLOCAL=1\n' "$kc" >"$envfile"
    ;;
  down)
    if [ -f "$envfile" ] && grep -qx 'BROUGHT_UP=1' "$envfile"; then
      "$cluster_dir/down.sh"
    else
      clog "e2e: leaving the cluster up (the e2e fixture did not bring it up)"
    fi
    rm -f "$envfile"
    ;;
  *) cdie "usage: fixture.sh up|down ENVFILE" ;;
esac
