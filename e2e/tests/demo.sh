#!/usr/bin/env bash
# scripts/demo, the newcomer's first command, works on the cluster: it installs
# Byron, deploys the example and its tour succeeds (each step of the tour
# checks its own outcome and stops the demo with an error otherwise); run
# again, it is a no-op upgrade with a new tour; `--down --keep-cluster`
# removes everything it made.
. "$(dirname "${BASH_SOURCE[0]}")/byron_lib.sh"
check_built operator sidecar example-orders ferretdb
no_cluster_wide_operator
demo=$BYRON_SOURCE_DIR/scripts/demo
[ -x "$demo" ] || demo=$here_tests/../../scripts/demo
suffix=$(date +%s)-$RANDOM
export BYRON_DEMO_NAMESPACE=e2e-demo-$suffix BYRON_NAMESPACE=e2e-demo-sys-$suffix BYRON_DEMO_TIMEOUT=180
# the images under test (on the local cluster these are the demo's defaults)
export BYRON_OPERATOR_IMAGE=$OPERATOR BYRON_SIDECAR_IMAGE=$SIDECAR BYRON_NATS_IMAGE=$NATS \
  BYRON_CACHE_IMAGE=$MONGO BYRON_CACHE_URI_OPTIONS=$CACHE_URI_OPTIONS BYRON_EXAMPLE_IMAGE=$EXAMPLE_IMG
NS=$BYRON_DEMO_NAMESPACE
trap '"$demo" --down --keep-cluster >/dev/null 2>&1 || true' EXIT

out=$("$demo" 2>&1) || { printf '%s\n' "$out" | tail -40 >&2; fail "scripts/demo failed"; }
for want in "operator available, leader:" "bc/orders Ready" "bc/shipping Ready" \
            '"code":"UNAUTHENTICATED"' "a token from the identity provider" \
            "is durable in the log at sequence" '"status":"SHIPPED"' \
            "rejected by the before hook: \"order o-" "the shipping sink made a Shipment" \
            "kubectl byron: the components'" "Clean up: scripts/demo --down"; do
  [[ $out == *"$want"* ]] || { printf '%s\n' "$out" >&2; fail "scripts/demo's output lacks: $want"; }
done
pass "scripts/demo: Byron installed, the example Ready, an anonymous command refused, a token from the provider accepted, the tour's commands, queries and rejection"

out=$("$demo" 2>&1) || { printf '%s\n' "$out" | tail -40 >&2; fail "scripts/demo, run again, failed"; }
[[ $out == *"Done in"* ]] || fail "scripts/demo, run again, did not finish"
pass "scripts/demo run again: idempotent"

"$demo" --down --keep-cluster >/dev/null 2>&1 || fail "scripts/demo --down --keep-cluster"
for ns in "$BYRON_DEMO_NAMESPACE" "$BYRON_NAMESPACE"; do
  ! kubectl get namespace "$ns" >/dev/null 2>&1 || fail "namespace $ns left after --down"
done
helm status byron -n "$BYRON_NAMESPACE" >/dev/null 2>&1 && fail "release left after --down"
kubectl get --raw /readyz >/dev/null || fail "--keep-cluster: the cluster is gone"
pass "scripts/demo --down --keep-cluster removed the example and Byron, left the cluster"
