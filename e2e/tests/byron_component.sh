#!/usr/bin/env bash
# A ByronComponent on a real cluster, end to end: the real chart's operator
# turns examples/orders into API and Sink Deployments, a cache StatefulSet on a
# bound volume, Services, a ConfigMap and a Secret, all owned by the component;
# it becomes Ready with observedGeneration; GraphQL through the API Service
# runs commands (durable sequences), custom commands and the app's hooks;
# queries return what the sink projected; a second component (shipping)
# consumes orders' events; NetworkPolicies are enforced; a deleted cache
# Secret comes back as it was; TLS to the cache turned on for the running
# component; a Deployment with a child's name is reported, never adopted;
# scaling the API changes only the API Deployment; pods run non-root on a
# read-only root filesystem; deleting the component garbage-collects its
# children.
. "$(dirname "${BASH_SOURCE[0]}")/byron_lib.sh"
check_built operator sidecar example-orders ferretdb
no_cluster_wide_operator
new_ns e2e-byron
install_byron
pass "chart installed (release $REL, operator watching $NS)"

# --- the component and its children ---------------------------------------------------
# shipping (which consumes orders' events) comes up alongside; it is checked below
apply_example identity.yaml   # the identity provider orders trusts (spec.auth)
apply_example component.yaml
apply_example shipping.yaml
kubectl -n "$NS" wait --for=condition=Ready bc/orders --timeout=180s >/dev/null || {
  kubectl -n "$NS" describe bc orders >&2
  kubectl -n "$NS" logs "deployment/$OPERATOR_DEPLOY" --tail=30 >&2
  fail "bc/orders not Ready within 180s"
}
bc() { kubectl -n "$NS" get bc orders -o jsonpath="$1"; }
gen=$(bc '{.metadata.generation}')
[ "$(bc '{.status.observedGeneration}')" = "$gen" ] || fail "status.observedGeneration $(bc '{.status.observedGeneration}') != generation $gen"
[ "$(bc '{.status.conditions[?(@.type=="Ready")].observedGeneration}')" = "$gen" ] || fail "Ready condition's observedGeneration"
[ "$(bc '{.status.api.ready}') $(bc '{.status.sink.ready}') $(bc '{.status.cache.state}')" = "1/1 1/1 Ready" ] ||
  fail "status: api $(bc '{.status.api.ready}') sink $(bc '{.status.sink.ready}') cache $(bc '{.status.cache.state}')"
pass "bc/orders Ready, observedGeneration $gen, api 1/1 sink 1/1 cache Ready"

uid=$(bc '{.metadata.uid}')
children=(deployment/orders-api deployment/orders-sink statefulset/orders-cache service/orders-api
          service/orders-cache configmap/orders-config secret/orders-cache-credentials
          secret/orders-nats-credentials)
for c in "${children[@]}"; do
  owner=$(kubectl -n "$NS" get "$c" -o jsonpath='{.metadata.ownerReferences[?(@.kind=="ByronComponent")].uid} {.metadata.ownerReferences[?(@.kind=="ByronComponent")].controller}') ||
    fail "$c missing"
  [ "$owner" = "$uid true" ] || fail "$c is not controlled by bc/orders (owner: '$owner')"
done
[ "$(kubectl -n "$NS" get pvc data-orders-cache-0 -o jsonpath='{.status.phase}')" = Bound ] || fail "cache volume not Bound"
[ -n "$(kubectl -n "$NS" get configmap orders-config -o jsonpath='{.data.component\.json}')" ] || fail "no component.json"
pass "children with the component as controller owner: ${children[*]}; cache PVC Bound"

# NATS identities: each pod holds only its own role's credentials.
for role in api sink; do
  other=sink; [ $role = sink ] && other=api
  vol=$(kubectl -n "$NS" get deployment "orders-$role" -o jsonpath='{.spec.template.spec.volumes[?(@.name=="nats-credentials")].secret.items[*].key}')
  [ "$vol" = "$role.creds" ] || fail "orders-$role mounts NATS credentials '$vol', want $role.creds only"
done
pass "the api and sink pods each mount only their own NATS user ($REL's NATS requires one)"

# --- the network: NetworkPolicies enforced --------------------------------------------------
cache=orders-cache-0.orders-cache.$NS.svc:27017
nats=$REL-nats.$NS.svc:4222
client_pod   # a Byron pod, not orders' (orders' own pods reach the cache: their sidecars are ready)
if out=$(cx probe mongo-ping "$cache" 2>&1); then
  fail "a pod outside component orders reached its cache: $out (is NetworkPolicy enforced?)"
fi
out=$(cx probe nats-pub "$nats" "byron.$NS.orders.0.Order.forged") || fail "a Byron pod cannot reach NATS: $out"
[ "$out" = "-ERR 'Authorization Violation'" ] || fail "NATS answered a client without credentials: $out"
kubectl -n "$NS" delete pod client --wait=true --timeout=60s >/dev/null
client_pod "app.kubernetes.io/part-of: other"
if out=$(cx probe banner "$nats" 2>&1); then fail "a pod that is not Byron's reached NATS: $out"; fi
kubectl -n "$NS" delete pod client --wait=true --timeout=60s >/dev/null
# and what the policy admits gets through: a pod labelled as orders' api
client_pod "byron.io/component: orders, byron.io/role: api"
out=$(cx probe mongo-ping "$cache" 2>&1) || fail "a pod labelled as orders' api cannot reach its cache: $out"
kubectl -n "$NS" delete pod client --wait=true --timeout=60s >/dev/null
pass "NetworkPolicies enforced: orders' cache refuses another pod and admits its own api's, NATS refuses a pod that is not Byron's (and NATS itself a Byron pod without credentials)"

# --- security: non-root, read-only root filesystem -----------------------------------------
for pod in $(kubectl -n "$NS" get pod -l byron.io/component=orders -o jsonpath='{.items[*].metadata.name}'); do
  for c in $(kubectl -n "$NS" get pod "$pod" -o jsonpath='{.spec.containers[*].name}'); do
    ro=$(kubectl -n "$NS" get pod "$pod" -o jsonpath="{.spec.containers[?(@.name==\"$c\")].securityContext.readOnlyRootFilesystem}")
    [ "$ro" = true ] || fail "$pod/$c: readOnlyRootFilesystem is not true"
  done
  [ "$(kubectl -n "$NS" get pod "$pod" -o jsonpath='{.spec.securityContext.runAsNonRoot}')" = true ] ||
    fail "$pod: runAsNonRoot is not set"
done
# and in fact: the processes are not root and cannot write to /
api_pod=$(kubectl -n "$NS" get pod -l byron.io/component=orders,byron.io/role=api -o jsonpath='{.items[0].metadata.name}')
out=$(kubectl -n "$NS" exec "$api_pod" -c app -- python3 -c '
import os
try:
    open("/probe", "w"); w = "writable"
except OSError as e:
    w = "read-only" if e.errno == 30 else "denied"
print(os.getuid(), w)') || fail "exec in the app container"
[ "$out" = "65532 read-only" ] || fail "app container: uid and / are '$out', want '65532 read-only'"
sc=$(kubectl -n "$NS" get pod "$api_pod" -o jsonpath='{.spec.containers[?(@.name!="app")].name}')
out=$(kubectl -n "$NS" exec "$api_pod" -c "$sc" -- sh -c 'id -u; touch /probe 2>/dev/null && echo writable || echo read-only') ||
  fail "exec in the sidecar"
[ "$(echo $out)" = "65532 read-only" ] || fail "sidecar: uid and / are '$out'"
pass "every container non-root (uid 65532) on a read-only root filesystem"

# --- GraphQL through the API Service -------------------------------------------------------
port_forward orders-api; ORDERS=http://127.0.0.1:$PORT/graphql
# Identity (docs/security.md): no token, no command; a token from the provider, accepted.
gql "$ORDERS" 'mutation { createOrder(input: {id: "o-0", customer: "ann", total: 1}) { id } }'
[ "$(jq_ 'a["errors"][0]["extensions"]["code"]')" = UNAUTHENTICATED ] || fail "an anonymous command: $ANSWER"
gql "$ORDERS" '{ orders { edges { node { id } } } }'
[ "$(jq_ 'a["data"]["orders"]["edges"]')" = "[]" ] || fail "an anonymous read, which the rules allow: $ANSWER"
kubectl -n "$NS" rollout status deployment/hydra --timeout=120s >/dev/null || fail "the identity provider is not available"
# shellcheck source=../../scripts/lib/oidc.sh
. "$EXAMPLE/../../scripts/lib/oidc.sh"
TOKEN=$(oidc_token "$NS" e2e-client orders.write)
[ -n "$TOKEN" ] || fail "no token from the identity provider"
BAD=$(oidc_token "$NS" e2e-reader "")
TOKEN=$BAD gql "$ORDERS" 'mutation { createOrder(input: {id: "o-0", customer: "ann", total: 1}) { id } }'
[ "$(jq_ 'a["errors"][0]["extensions"]["code"]')" = FORBIDDEN ] || fail "a token without orders.write: $ANSWER"
pass "anonymous commands refused (UNAUTHENTICATED), anonymous reads allowed, a token without the scope FORBIDDEN"
gql "$ORDERS" 'mutation { createOrder(input: {id: "o-1", customer: "ann", total: 42.5}) { id version sequence } }'
seq1=$(jq_ 'a["data"]["createOrder"]["sequence"]')
[[ $seq1 =~ ^[1-9][0-9]*$ ]] || fail "createOrder: no durable sequence: $ANSWER"
[ "$(jq_ 'a["data"]["createOrder"]["version"]')" = 1 ] || fail "createOrder version: $ANSWER"
gql "$ORDERS" 'mutation { shipOrder(id: "o-1", input: {carrier: "ups"}) { version sequence events { type } } }'
seq2=$(jq_ 'a["data"]["shipOrder"]["sequence"]')
[[ $seq2 =~ ^[0-9]+$ ]] && [ "$seq2" -gt "$seq1" ] || fail "shipOrder: sequence $seq2 after $seq1: $ANSWER"
[ "$(jq_ 'a["data"]["shipOrder"]["events"][0]["type"]')" = OrderShipped ] || fail "shipOrder events: $ANSWER"
pass "mutations return durable sequences ($seq1, then $seq2 for the custom command)"

gql_until 60 "$ORDERS" '{ order(id: "o-1") { customer total status carrier version } }' \
  'a["data"]["order"] == {"customer": "ann", "total": 42.5, "status": "SHIPPED", "carrier": "ups", "version": 2}'
gql "$ORDERS" '{ orders(filter: {status: {eq: SHIPPED}}) { edges { node { id } } } }'
[ "$(jq_ '[e["node"]["id"] for e in a["data"]["orders"]["edges"]]')" = "['o-1']" ] || fail "list by status: $ANSWER"
pass "queries return the projected order (status set by the app's sink handler), by id and by an indexed field"

gql "$ORDERS" 'mutation { createOrder(input: {id: "o-2", customer: "bob", total: 10}) { version } }'
gql "$ORDERS" 'mutation { cancelOrder(id: "o-2", input: {reason: "no"}) { version } }'
gql_until 60 "$ORDERS" '{ order(id: "o-2") { status } }' 'a["data"]["order"]["status"] == "CANCELLED"'
gql "$ORDERS" 'mutation { shipOrder(id: "o-2", input: {carrier: "dhl"}) { version } }'
[ "$(jq_ 'a["errors"][0]["extensions"]["code"] + " " + a["errors"][0]["extensions"]["appCode"]')" = "REJECTED ORDER_CANCELLED" ] ||
  fail "shipping a cancelled order: $ANSWER"
[ "$(jq_ 'a["errors"][0]["message"]')" = "order o-2 is cancelled and cannot be shipped" ] || fail "rejection message: $ANSWER"
gql "$ORDERS" 'mutation { createOrder(input: {customer: "eve", total: -1}) { version } }'
[ "$(jq_ 'a["errors"][0]["extensions"]["appCode"]')" = BAD_TOTAL ] || fail "a negative total: $ANSWER"
pass "the app's before hooks reject with their message (cancelled order, negative total)"

# --- a second component consuming orders' events --------------------------------------------
kubectl -n "$NS" wait --for=condition=Ready bc/shipping --timeout=180s >/dev/null || fail "bc/shipping not Ready"
port_forward shipping-api; SHIPPING=http://127.0.0.1:$PORT/graphql
# shipping trusts no issuer (anyone may read it): a token there is refused, so none is sent.
# Its sink's app is a process manager: on OrderShipped it commands createShipment through its
# sidecar, relayed to shipping's api and keyed by the event — one Shipment event, version 1.
TOKEN= gql_until 60 "$SHIPPING" '{ shipment(id: "o-1") { orderId carrier version } }' \
  'a["data"]["shipment"] == {"orderId": "o-1", "carrier": "ups", "version": 1}'
TOKEN= gql "$SHIPPING" '{ shipments { edges { node { id } } } }'
[ "$(jq_ 'len(a["data"]["shipments"]["edges"])')" = 1 ] || fail "only shipped orders make shipments: $ANSWER"
pass "shipping's sink app commanded a Shipment for orders' OrderShipped (relayed to its api, once)"
stop_port_forwards

# --- the cache's Secret deleted: it comes back as it was -------------------------------------
# (the pods restarted below, by TLS, read it again: the cache stays reachable)
sec_data() { kubectl -n "$NS" get secret orders-cache-credentials -o jsonpath='{.data}' 2>/dev/null; }
sec_uid() { kubectl -n "$NS" get secret orders-cache-credentials -o jsonpath='{.metadata.uid}' 2>/dev/null; }
data0=$(sec_data); uid0=$(sec_uid)
[ -n "$data0" ] || fail "no Secret orders-cache-credentials"
kubectl -n "$NS" delete secret orders-cache-credentials >/dev/null || fail "delete the cache Secret"
retry 60 "orders-cache-credentials made again" sh -c "u=\$(kubectl -n '$NS' get secret orders-cache-credentials -o jsonpath='{.metadata.uid}' 2>/dev/null) && [ -n \"\$u\" ] && [ \"\$u\" != '$uid0' ]"
[ "$(sec_data)" = "$data0" ] || fail "the cache Secret came back with other passwords"
pass "the deleted cache Secret was made again with the same passwords (derived from the release's key)"

# --- TLS to the cache, turned on for the running component -----------------------------------
host=orders-cache-0.orders-cache.$NS.svc
tlsdir=$(mktemp -d)
{ openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=e2e-cache-ca \
    -keyout "$tlsdir/ca.key" -out "$tlsdir/ca.crt" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" \
    -keyout "$tlsdir/tls.key" -out "$tlsdir/tls.csr" &&
  printf 'subjectAltName=DNS:%s\n' "$host" >"$tlsdir/ext" &&
  openssl x509 -req -days 1 -in "$tlsdir/tls.csr" -CA "$tlsdir/ca.crt" -CAkey "$tlsdir/ca.key" \
    -CAcreateserial -extfile "$tlsdir/ext" -out "$tlsdir/tls.crt"; } >/dev/null 2>&1 || fail "openssl: the cache's certificate"
cat "$tlsdir/tls.crt" "$tlsdir/tls.key" >"$tlsdir/tls-combined.pem"
kubectl -n "$NS" create secret generic orders-cache-tls --from-file="tls-combined.pem=$tlsdir/tls-combined.pem" \
  --from-file="ca.crt=$tlsdir/ca.crt" >/dev/null || fail "create Secret orders-cache-tls"
rm -rf "$tlsdir"
kubectl -n "$NS" patch bc orders --type=merge -p '{"spec":{"cache":{"tls":{"secretRef":{"name":"orders-cache-tls"}}}}}' >/dev/null ||
  fail "patch spec.cache.tls"
retry 60 "the cache StatefulSet requires TLS" sh -c "
  kubectl -n '$NS' get statefulset orders-cache -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -q requireTLS"
for w in statefulset/orders-cache deployment/orders-api deployment/orders-sink; do
  kubectl -n "$NS" rollout status "$w" --timeout=180s >/dev/null || fail "$w did not roll out with TLS"
done
kubectl -n "$NS" get secret orders-cache-credentials -o jsonpath='{.data.uri}' | base64 -d | grep -q 'tls=true' ||
  fail "the cache URIs do not ask for TLS"
port_forward orders-api; ORDERS=http://127.0.0.1:$PORT/graphql
gql_until 120 "$ORDERS" '{ order(id: "o-1") { customer } }' 'a["data"]["order"] == {"customer": "ann"}'
gql "$ORDERS" 'mutation { createOrder(input: {id: "o-3", customer: "tls", total: 1}) { version } }'
gql_until 60 "$ORDERS" '{ order(id: "o-3") { customer } }' 'a["data"]["order"] == {"customer": "tls"}'
stop_port_forwards
client_pod "byron.io/component: orders, byron.io/role: api"
if out=$(cx probe mongo-ping "$cache" 2>&1); then fail "the cache answered a plain connection with TLS on: $out"; fi
kubectl -n "$NS" delete pod client --wait=false >/dev/null
pass "TLS to the cache: the restarted api reads and the sink writes through TLS (the Secret's passwords unchanged), a plain connection is refused"

# --- never adopt: someone's Deployment with a child's name ------------------------------------
kubectl -n "$NS" create deployment taken-api --image="$PROBE" --replicas=0 >/dev/null || fail "create Deployment taken-api"
rv0=$(kubectl -n "$NS" get deployment taken-api -o jsonpath='{.metadata.resourceVersion}')
kubectl -n "$NS" apply -f - >/dev/null <<YAML || fail "apply bc/taken"
apiVersion: byron.io/v1alpha1
kind: ByronComponent
metadata: {name: taken}
spec:
  models: [{name: Thing, fields: [{name: label, type: String}]}]
  cache: {external: {uri: "mongodb://nowhere.invalid:27017/"}}
  sink: {replicas: 0}
YAML
kubectl -n "$NS" wait bc/taken --timeout=60s \
  --for=jsonpath='{.status.conditions[?(@.type=="Degraded")].reason}'=NotOwned >/dev/null || fail "bc/taken is not Degraded NotOwned"
kubectl -n "$NS" get bc taken -o jsonpath='{.status.conditions[?(@.type=="Degraded")].message}' | grep -q taken-api ||
  fail "the NotOwned message does not name taken-api"
[ "$(kubectl -n "$NS" get deployment taken-api -o jsonpath='{.metadata.resourceVersion} {.metadata.ownerReferences}')" = "$rv0 " ] ||
  fail "the operator wrote or adopted Deployment taken-api"
kubectl -n "$NS" delete bc taken --wait=true --timeout=60s >/dev/null || fail "delete bc/taken"
kubectl -n "$NS" get deployment taken-api >/dev/null 2>&1 || fail "deleting bc/taken took Deployment taken-api with it"
kubectl -n "$NS" delete deployment taken-api >/dev/null
pass "a Deployment with a child's name is reported (Degraded NotOwned naming it), never written or adopted, and outlives the component"

# --- scaling the API only ----------------------------------------------------------------------
obj_state() {   # spec generations of the sink and the cache, the config's version
  kubectl -n "$NS" get deployment/orders-sink statefulset/orders-cache \
    -o jsonpath='{range .items[*]}{.metadata.name}:{.metadata.generation} {end}'
  kubectl -n "$NS" get configmap/orders-config -o jsonpath='{.metadata.resourceVersion}'
}
before=$(obj_state)
kubectl -n "$NS" patch bc orders --type=merge -p '{"spec":{"api":{"replicas":2}}}' >/dev/null || fail "patch api.replicas"
gen2=$(bc '{.metadata.generation}')
retry 120 "API scaled to 2/2 and Ready at generation $gen2" sh -c "
  [ \"\$(kubectl -n '$NS' get bc orders -o jsonpath='{.status.api.ready} {.status.observedGeneration} {.status.conditions[?(@.type==\"Ready\")].status}')\" = '2/2 $gen2 True' ]"
[ "$(kubectl -n "$NS" get deployment orders-api -o jsonpath='{.spec.replicas} {.status.readyReplicas}')" = "2 2" ] ||
  fail "API Deployment not at 2 ready replicas"
[ "$(obj_state)" = "$before" ] || fail "scaling the API changed other children: $before -> $(obj_state)"
[ "$(kubectl -n "$NS" get deployment orders-sink -o jsonpath='{.spec.replicas}')" = 1 ] || fail "sink replicas changed"
pass "spec.api.replicas=2 scaled only the API Deployment (sink, cache, config untouched)"

# --- deletion: the garbage collector follows the owner references -----------------------------
kubectl -n "$NS" delete bc orders --wait=true --timeout=60s >/dev/null || fail "delete bc/orders"
retry 120 "children of bc/orders garbage-collected" sh -c "
  [ -z \"\$(kubectl -n '$NS' get ${children[*]} --ignore-not-found -o name)\" ]"
kubectl -n "$NS" wait --for=delete pod -l byron.io/component=orders --timeout=120s >/dev/null 2>&1 ||
  fail "pods of bc/orders still there 120s after its deletion"
pass "deleting bc/orders garbage-collected all its children and pods"

helm uninstall "$REL" -n "$NS" --wait --timeout 120s >/dev/null || fail "helm uninstall"
[ -z "$(kubectl -n "$NS" get deployment "$OPERATOR_DEPLOY" --ignore-not-found -o name)" ] || fail "operator left after uninstall"
REL=
pass "helm uninstall removed the operator"
