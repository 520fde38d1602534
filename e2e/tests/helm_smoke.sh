#!/usr/bin/env bash
# `helm install` of the smoke chart deploys a working release (waited for by
# helm and checked through its Service); `helm uninstall` removes all of it.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v helm >/dev/null || fail "helm not found (scripts/bootstrap cluster builds it into $BIN)"
new_ns e2e-helm
chart=$here_tests/../charts/smoke

helm lint "$chart" >/dev/null || fail "helm lint"
helm install smoke "$chart" -n "$NS" --wait --timeout 120s \
  --set image.repository="${PROBE%:*}" --set image.tag="${PROBE##*:}" >/dev/null ||
  fail "helm install"
status=$(helm status smoke -n "$NS" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["status"])')
[ "$status" = deployed ] || fail "release status $status"
kubectl -n "$NS" wait --for=condition=Available deployment/smoke-smoke --timeout=60s >/dev/null ||
  fail "deployment not Available"
[ "$(kubectl -n "$NS" get configmap smoke-smoke -o jsonpath='{.data.message}')" = "hello from the smoke chart" ] ||
  fail "configmap content"
# the release serves through its Service (API server proxy to the service)
retry 60 "GET the release's Service" kubectl get --raw "/api/v1/namespaces/$NS/services/smoke-smoke:http/proxy/"
[[ $OUT == "byron-probe smoke-smoke-"* ]] || fail "unexpected answer: $OUT"
pass "helm install: release deployed and serving"

helm upgrade smoke "$chart" -n "$NS" --reuse-values --set message=upgraded --wait --timeout 120s >/dev/null ||
  fail "helm upgrade"
[ "$(kubectl -n "$NS" get configmap smoke-smoke -o jsonpath='{.data.message}')" = upgraded ] || fail "upgrade not applied"
pass "helm upgrade"

helm uninstall smoke -n "$NS" --wait --timeout 120s >/dev/null || fail "helm uninstall"
helm status smoke -n "$NS" >/dev/null 2>&1 && fail "release still listed after uninstall"
# the release's objects are gone at once; its pods terminate (deadline)
left=$(kubectl -n "$NS" get deployment,replicaset,service,configmap -l app.kubernetes.io/instance=smoke -o name)
[ -z "$left" ] || fail "left after uninstall: $left"
kubectl -n "$NS" wait --for=delete pod -l app.kubernetes.io/instance=smoke --timeout=60s >/dev/null 2>&1 ||
  fail "pods of the release still there 60s after uninstall"
left=$(kubectl -n "$NS" get pod -l app.kubernetes.io/instance=smoke -o name)
[ -z "$left" ] || fail "left after uninstall: $left"
pass "helm uninstall removed the release"
