#!/usr/bin/env bash
# One address for every component (spec.api.expose, docs/operator.md "One
# address"): a real gateway controller — Traefik, built from its Go module —
# in a namespace of its own serves one Gateway; two components expose their
# API on it, alpha by path (/alpha, the prefix replaced by /) and beta by host
# (beta.e2e.test); a GraphQL request through the gateway's one address reaches
# each component's own GraphQL (each answers with its own model), the
# operator reports Exposed=True from the HTTPRoute's Accepted condition, the
# operator's NetworkPolicies are enforced all along (the gateway's pods reach
# the api port from another namespace), and removing beta's expose removes
# its route: the gateway stops routing to it while alpha keeps answering.
. "$(dirname "${BASH_SOURCE[0]}")/byron_lib.sh"
check_built operator sidecar ferretdb traefik
no_cluster_wide_operator
TRAEFIK=${BYRON_E2E_TRAEFIK_IMAGE:-$TRAEFIK_IMAGE}

# The Gateway API before the operator: it reads discovery at start.
[ -s "$GATEWAY_API_CRDS/gateway.networking.k8s.io_httproutes.yaml" ] ||
  fail "no Gateway API CRDs in $GATEWAY_API_CRDS (scripts/bootstrap fetches them)"
kubectl apply --server-side --force-conflicts -f "$GATEWAY_API_CRDS/" >/dev/null || fail "Gateway API CRDs"
for crd in gatewayclasses gateways httproutes referencegrants; do
  retry 30 "CRD $crd Established" kubectl wait --for=condition=Established \
    "crd/$crd.gateway.networking.k8s.io" --timeout=30s
done

new_ns e2e-expose
GW_NS=$NS-gw
CLASS=$NS   # cluster-scoped names of this run: GatewayClass, ClusterRole(Binding)
install_byron
expose_cleanup() {
  byron_cleanup
  kubectl delete namespace "$GW_NS" --wait=false >/dev/null 2>&1 || true
  kubectl delete gatewayclass "$CLASS" clusterrolebinding "$CLASS-traefik" clusterrole "$CLASS-traefik" \
    --ignore-not-found >/dev/null 2>&1 || true
  stop_gw_forward
}
GW_PF=
stop_gw_forward() { [ -z "$GW_PF" ] || kill "$GW_PF" 2>/dev/null || true; GW_PF=; }
trap expose_cleanup EXIT
pass "chart installed (release $REL, operator watching $NS)"

# --- the gateway: Traefik's Gateway API provider ------------------------------------------
kubectl create namespace "$GW_NS" >/dev/null || fail "namespace $GW_NS"
kubectl apply -f - >/dev/null <<YAML || fail "Traefik"
apiVersion: v1
kind: ServiceAccount
metadata: {name: traefik, namespace: $GW_NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: $CLASS-traefik}
rules:
  - apiGroups: [""]
    resources: [namespaces, services, secrets, configmaps]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
  - apiGroups: [gateway.networking.k8s.io]
    resources: [gatewayclasses, gateways, httproutes, grpcroutes, referencegrants, backendtlspolicies]
    verbs: [get, list, watch]
  - apiGroups: [gateway.networking.k8s.io]
    resources: [gatewayclasses/status, gateways/status, httproutes/status, grpcroutes/status, backendtlspolicies/status]
    verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: $CLASS-traefik}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: $CLASS-traefik}
subjects: [{kind: ServiceAccount, name: traefik, namespace: $GW_NS}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: traefik, namespace: $GW_NS}
spec:
  selector: {matchLabels: {app: traefik}}
  template:
    metadata: {labels: {app: traefik}}
    spec:
      serviceAccountName: traefik
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: traefik
        image: $TRAEFIK
        imagePullPolicy: IfNotPresent
        args:
          - --global.checkNewVersion=false
          - --global.sendAnonymousUsage=false
          - --entryPoints.web.address=:8000
          - --entryPoints.traefik.address=:8080
          - --ping=true
          - --providers.kubernetesGateway=true
          - --providers.kubernetesGateway.namespaces=$GW_NS,$NS
        ports: [{name: web, containerPort: 8000}]
        readinessProbe: {httpGet: {path: /ping, port: 8080}, periodSeconds: 2}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: traefik, namespace: $GW_NS}
spec:
  selector: {app: traefik}
  ports: [{name: web, port: 80, targetPort: web}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: $CLASS}
spec: {controllerName: traefik.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: byron, namespace: $GW_NS}
spec:
  gatewayClassName: $CLASS
  listeners:
    - {name: web, port: 8000, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
YAML
kubectl -n "$GW_NS" rollout status deployment/traefik --timeout=120s >/dev/null || {
  kubectl -n "$GW_NS" logs deployment/traefik --tail=30 >&2; fail "Traefik not ready"; }
retry 60 "Gateway byron Accepted" kubectl -n "$GW_NS" wait --for=condition=Accepted gateway/byron --timeout=5s
pass "Traefik $TRAEFIK_VERSION serves Gateway $GW_NS/byron (class $CLASS)"

# --- two components behind it ---------------------------------------------------------------
component() {   # NAME MODEL EXPOSE-YAML
  kubectl -n "$NS" apply -f - >/dev/null <<YAML || fail "bc/$1"
apiVersion: byron.io/v1alpha1
kind: ByronComponent
metadata: {name: $1}
spec:
  partitions: 1
  models: [{name: $2, fields: [{name: label, type: String}]}]
  auth: {rules: [{operations: ["*"], anonymous: true}]}
  api: {replicas: 1, expose: $3}
  sink: {replicas: 1}
  cache: {storage: {size: 256Mi}}
YAML
}
component alpha Alpha "{path: /alpha, gateway: {name: byron, namespace: $GW_NS}}"
component beta Beta "{host: beta.e2e.test, gateway: {name: byron, namespace: $GW_NS}}"
for c in alpha beta; do
  kubectl -n "$NS" wait --for=condition=Ready "bc/$c" --timeout=240s >/dev/null || {
    kubectl -n "$NS" describe bc "$c" >&2; fail "bc/$c not Ready"; }
  kubectl -n "$NS" wait --for=condition=Exposed "bc/$c" --timeout=60s >/dev/null || {
    kubectl -n "$NS" get httproute "$c-api" -o yaml >&2; kubectl -n "$GW_NS" logs deployment/traefik --tail=30 >&2
    fail "bc/$c not Exposed"; }
  owner=$(kubectl -n "$NS" get httproute "$c-api" -o jsonpath='{.metadata.ownerReferences[0].name}')
  [ "$owner" = "$c" ] || fail "httproute/$c-api is not owned by bc/$c ('$owner')"
done
[ "$(kubectl -n "$NS" get bc alpha -o jsonpath='{.status.conditions[?(@.type=="Exposed")].reason}')" = Accepted ] ||
  fail "alpha's Exposed reason: $(kubectl -n "$NS" get bc alpha -o jsonpath='{.status.conditions[?(@.type=="Exposed")]}')"
[ -n "$(kubectl -n "$NS" get networkpolicy alpha-api -o name 2>/dev/null)" ] || fail "no NetworkPolicy alpha-api"
pass "alpha and beta Ready and Exposed (HTTPRoute accepted by the Gateway), routes owned by their components, NetworkPolicies in place"

# --- one address ------------------------------------------------------------------------------
log=$(mktemp)
kubectl -n "$GW_NS" port-forward svc/traefik 0:80 >"$log" 2>&1 &
GW_PF=$!
wait_for 30 "port-forward to Traefik" grep -q 'Forwarding from 127.0.0.1' "$log" || { cat "$log" >&2; fail "port-forward"; }
GW=http://127.0.0.1:$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\) ->.*/\1/p' "$log" | head -1)
rm -f "$log"

# through the gateway's one address: alpha by path, beta by host; each answers with its own model
HOSTHDR=()
gql_try() {   # (byron_lib's, with an optional Host header)
  local body; body=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$2")
  ANSWER=$(curl -sS --max-time 20 -H 'Content-Type: application/json' "${HOSTHDR[@]}" "$1" -d "$body" 2>&1)
}
gql_until 60 "$GW/alpha/graphql" '{ __type(name: "Alpha") { name } alphas { edges { node { id } } } }' \
  "a['data']['__type']['name'] == 'Alpha' and a['data']['alphas']['edges'] == []"
gql "$GW/alpha/graphql" '{ __type(name: "Beta") { name } }'
[ "$(jq_ "a['data']['__type']")" = None ] || fail "/alpha/graphql answered for Beta: $ANSWER"
HOSTHDR=(-H 'Host: beta.e2e.test')
gql_until 60 "$GW/graphql" '{ __type(name: "Beta") { name } betas { edges { node { id } } } }' \
  "a['data']['__type']['name'] == 'Beta' and a['data']['betas']['edges'] == []"
HOSTHDR=()
pass "one address ($GW via Traefik): /alpha/graphql is alpha's GraphQL, Host beta.e2e.test is beta's"

# --- a removed expose removes the route ---------------------------------------------------------
kubectl -n "$NS" patch bc beta --type=json -p '[{"op":"remove","path":"/spec/api/expose"}]' >/dev/null ||
  fail "removing beta's expose"
retry 60 "httproute/beta-api deleted" sh -c "! kubectl -n '$NS' get httproute beta-api -o name 2>/dev/null | grep -q ."
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
retry 60 "the gateway stops routing beta.e2e.test" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Host: beta.e2e.test' -H 'Content-Type: application/json' -d '{\"query\":\"{ __typename }\"}' '$GW/graphql')\" = 404 ]"
[ -z "$(kubectl -n "$NS" get bc beta -o jsonpath='{.status.conditions[?(@.type=="Exposed")].type}')" ] ||
  fail "beta still has an Exposed condition"
gql "$GW/alpha/graphql" '{ __type(name: "Alpha") { name } }'
[ "$(jq_ "a['data']['__type']['name']")" = Alpha ] || fail "alpha stopped answering: $ANSWER"
[ "$(code -H 'Content-Type: application/json' -d '{"query":"{ __typename }"}' "$GW/beta/graphql")" = 404 ] ||
  fail "/beta/graphql routed somewhere"
pass "beta's expose removed: its HTTPRoute and Exposed condition are gone, the gateway answers 404 for it, alpha still answers"
