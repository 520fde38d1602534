#!/usr/bin/env bash
# The real chart (helm/byron): `helm install` brings up the operator (with its
# RBAC) and a 3-server NATS JetStream cluster with authentication — the
# operator creates the release's NATS identity, the servers route to each other
# with its route password, a client without credentials is refused; the
# operator becomes Available and holds the leader Lease; in namespaced mode it has Roles only (kubectl auth can-i); the CRD refuses an invalid ByronComponent naming the field;
# `helm uninstall` removes the operator and NATS.
. "$(dirname "${BASH_SOURCE[0]}")/byron_lib.sh"
check_built operator sidecar
no_cluster_wide_operator
new_ns e2e-chart

helm lint "$CHART" >/dev/null 2>&1 || fail "helm lint helm/byron"
# a 3-server NATS JetStream cluster with authentication (the default) and
# routes authenticated with the release's route password
install_byron --set nats.replicas=3 --set broker.replicas=3 --set "networkPolicy.monitoringNamespace=$NS"
kubectl -n "$NS" wait --for=condition=Available "deployment/$OPERATOR_DEPLOY" --timeout=60s >/dev/null ||
  fail "operator not Available"
[ "$(kubectl -n "$NS" get deployment "$OPERATOR_DEPLOY" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "$OPERATOR" ] ||
  fail "operator image is not $OPERATOR"
pass "helm install: operator Available ($OPERATOR)"

# The leader Lease, held by the running operator pod.
pod=$(kubectl -n "$NS" get pod -l app.kubernetes.io/name=byron-operator -o jsonpath='{.items[0].metadata.name}')
retry 60 "the operator holds the Lease" \
  sh -c "kubectl -n '$NS' get lease '$REL-operator' -o jsonpath='{.spec.holderIdentity}' | grep -q '^$pod'"
pass "leader Lease $REL-operator held by $pod"

# Namespaced mode (operator.watchNamespaces): Roles only, rights in $NS only.
[ -z "$(kubectl get clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$REL" -o name)" ] ||
  fail "namespaced mode created cluster-scoped RBAC"
sa=system:serviceaccount:$NS:$OPERATOR_SA
can() { kubectl auth can-i "$@" --as "$sa" 2>/dev/null; }
for want in "patch deployments -n $NS" "list secrets -n $NS" "patch byroncomponents.byron.io --subresource=status -n $NS" \
            "create events -n $NS" "update leases.coordination.k8s.io -n $NS"; do
  [ "$(can $want)" = yes ] || fail "the operator may not: $want"
done
for deny in "list secrets -A" "list secrets -n kube-system" "patch deployments -n kube-system" \
            "list byroncomponents.byron.io -A" "delete deployments -n $NS" "update secrets -n $NS"; do
  [ "$(can $deny)" = no ] || fail "the operator may: $deny"
done
pass "namespaced mode: Roles only; kubectl auth can-i: what the operator needs in $NS, nothing elsewhere"

kubectl -n "$NS" rollout status "statefulset/$REL-nats" --timeout=120s >/dev/null || fail "NATS not ready"
for i in 0 1 2; do
  [ "$(kubectl -n "$NS" get pvc "data-$REL-nats-$i" -o jsonpath='{.status.phase}')" = Bound ] || fail "NATS volume $i not Bound"
done
pass "NATS JetStream StatefulSet of 3 ready on bound volumes"

# The operator made the release's NATS trust chain; the servers include it.
keys=$(kubectl -n "$NS" get secret "$REL-nats-identity" -o jsonpath='{.data}' | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))') ||
  fail "no Secret $REL-nats-identity"
[ "$keys" = "account-signing.seed account.pub auth.conf route-password" ] || fail "identity Secret keys: $keys"
client_pod
for i in 0 1 2; do   # /healthz without js-enabled-only: current with the JetStream meta group (the routes work)
  retry 90 "NATS server $i current with the cluster" cx probe get "http://$REL-nats-$i.$REL-nats-headless.$NS.svc:8222/healthz"
done
out=$(cx probe nats-pub "$REL-nats.$NS.svc:4222" "byron.$NS.forged.0.Order.x") || fail "nats-pub: $out"
[ "$out" = "-ERR 'Authorization Violation'" ] || fail "a client without credentials was answered: $out"
pass "3 NATS servers form a JetStream cluster over authenticated routes; a client without credentials is refused"
kubectl -n "$NS" delete pod client --wait=false >/dev/null

# Invalid components are refused by the API server, naming the field.
reject() {   # WHAT FIELD-IN-MESSAGE YAML-SPEC
  local out
  if out=$(kubectl -n "$NS" apply -f - 2>&1 <<YAML
apiVersion: byron.io/v1alpha1
kind: ByronComponent
metadata: {name: bad}
spec: $3
YAML
  ); then fail "$1 was accepted"; fi
  [[ $out == *"$2"* ]] || fail "$1: the error does not name $2: $out"
}
reject "an unknown field type" "spec.models[].fields[].type" \
  '{models: [{name: Order, fields: [{name: customer, type: Custmer}]}]}'
reject "zero partitions" "spec.partitions" '{partitions: 0}'
reject "a command on no model" "spec.commands[].model" \
  '{models: [{name: Order, fields: [{name: total, type: Float}]}], commands: [{name: ship, model: Ordr, emits: [Shipped]}]}'
pass "invalid ByronComponents refused by kubectl apply, naming the field"

helm uninstall "$REL" -n "$NS" --wait --timeout 120s >/dev/null || fail "helm uninstall"
left=$(kubectl -n "$NS" get deployment,statefulset,service,serviceaccount,role,rolebinding -l "app.kubernetes.io/instance=$REL" -o name)
[ -z "$left" ] || fail "left after uninstall: $left"
left=$(kubectl get clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$REL" -o name)
[ -z "$left" ] || fail "left after uninstall: $left"
kubectl -n "$NS" wait --for=delete pod -l "app.kubernetes.io/instance=$REL" --timeout=60s >/dev/null 2>&1 ||
  fail "pods of the release still there 60s after uninstall"
REL=
pass "helm uninstall removed the operator, its RBAC and NATS"
