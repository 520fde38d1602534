# e2e/tests/lib.sh — shared helpers of the e2e shell tests.
# shellcheck shell=bash
set -euo pipefail
here_tests=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here_tests/../cluster/common.sh"

# The fixture's env file names the cluster; without it (a test run by hand)
# use $KUBECONFIG, else the local cluster.
if [ -n "${BYRON_E2E_ENV:-}" ] && [ -f "$BYRON_E2E_ENV" ]; then
  KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' "$BYRON_E2E_ENV")
  E2E_LOCAL=$(sed -n 's/^LOCAL=//p' "$BYRON_E2E_ENV")
else
  KUBECONFIG=${KUBECONFIG:-$KUBECONFIG_FILE}
  E2E_LOCAL=0; [ "$KUBECONFIG" = "$KUBECONFIG_FILE" ] && E2E_LOCAL=1
fi
export KUBECONFIG E2E_LOCAL
# Image of the test workloads (locally built; pushed to a registry for an
# external cluster): override with BYRON_E2E_PROBE_IMAGE.
PROBE=${BYRON_E2E_PROBE_IMAGE:-$PROBE_IMAGE}
BASE=${BYRON_E2E_BASE_IMAGE:-$DEBIAN_IMAGE}

T_START=$(date +%s)
pass() { printf 'PASS %s (%ss)\n' "$*" "$(( $(date +%s) - T_START ))"; }
fail() {
  printf 'FAIL %s\n' "$*" >&2
  if [ -n "${NS:-}" ]; then
    kubectl -n "$NS" get all,pvc,events -o wide >&2 2>/dev/null || true
  fi
  exit 1
}

# new_ns PREFIX: a fresh namespace, deleted when the test exits.
new_ns() {
  NS="$1-$(date +%s)-$RANDOM"
  kubectl create namespace "$NS" >/dev/null
  trap 'kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true' EXIT
  # pods are refused until the namespace's default service account exists
  wait_for 30 "service account default in $NS" kubectl -n "$NS" get serviceaccount default ||
    fail "no default service account in $NS"
}

# retry SECONDS DESCRIPTION COMMAND...: run until it succeeds (output kept in
# $OUT) or the deadline passes.
retry() {
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  while :; do
    if OUT=$("$@" 2>&1); then return 0; fi
    [ "$(date +%s)" -lt "$end" ] || { printf '%s\n' "$OUT" >&2; fail "$what (after ${limit}s)"; }
    sleep 0.5
  done
}
