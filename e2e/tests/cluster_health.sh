#!/usr/bin/env bash
# The node is Ready, CoreDNS is Available, a default StorageClass exists, and
# every control-plane component answers.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kubectl get --raw /readyz >/dev/null || fail "api server not ready"
node=$(kubectl get nodes -o name | head -1)
[ -n "$node" ] || fail "no node registered"
kubectl wait --for=condition=Ready "$node" --timeout=60s >/dev/null || fail "$node not Ready"
pass "$node Ready"

kubectl -n kube-system wait --for=condition=Available deployment/coredns --timeout=60s >/dev/null ||
  fail "CoreDNS not Available"
pass "CoreDNS Available"

default_sc=$(kubectl get storageclass -o jsonpath='{range .items[?(@.metadata.annotations.storageclass\.kubernetes\.io/is-default-class=="true")]}{.metadata.name}{"\n"}{end}')
[ -n "$default_sc" ] || fail "no default StorageClass"
pass "default StorageClass $default_sc"

# scheduler and controller manager work: the built-in objects they maintain exist
kubectl -n default get serviceaccount default >/dev/null || fail "controller manager: no default service account"
kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns -o name | grep -q . ||
  fail "no EndpointSlice for kube-dns"
pass "control plane healthy"
