# e2e/tests/byron_lib.sh — helpers of the tests of Byron itself (the chart,
# the operator, the sidecar, the example component) on a real cluster.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v helm >/dev/null || fail "helm not found (scripts/bootstrap cluster builds it into $BIN)"
CHART=$BYRON_SOURCE_DIR/helm/byron
EXAMPLE=$BYRON_SOURCE_DIR/examples/orders
[ -d "$CHART" ] || CHART=$here_tests/../../helm/byron
[ -d "$EXAMPLE" ] || EXAMPLE=$here_tests/../../examples/orders

# The images under test: locally built ones by default; for another cluster,
# BYRON_E2E_*_IMAGE name them (docs/local-cluster.md).
OPERATOR=${BYRON_E2E_OPERATOR_IMAGE:-$OPERATOR_IMAGE}
SIDECAR=${BYRON_E2E_SIDECAR_IMAGE:-$SIDECAR_IMAGE}
NATS=${BYRON_E2E_NATS_IMAGE:-$NATS_IMAGE}
MONGO=${BYRON_E2E_MONGO_IMAGE:-$FERRETDB_IMAGE}
EXAMPLE_IMG=${BYRON_E2E_EXAMPLE_IMAGE:-$EXAMPLE_ORDERS_IMAGE}
# FerretDB (the local stand-in for mongo) authenticates with PLAIN only and
# has no mongosh to make the per-role users with (docs/security.md).
if [ "$MONGO" = "$FERRETDB_IMAGE" ]; then
  CACHE_URI_OPTIONS=${BYRON_E2E_CACHE_URI_OPTIONS-authMechanism=PLAIN}
  CACHE_USERS=false
else
  CACHE_URI_OPTIONS=${BYRON_E2E_CACHE_URI_OPTIONS-}
  CACHE_USERS=true
fi

# For a test's failure handler: the last lines of the byron-sidecar container
# of every pod in $NS that matches the label selector.
dump_sidecar_logs() {
  local p
  for p in $(kubectl -n "$NS" get pod -l "$1" -o jsonpath='{.items[*].metadata.name}' 2>/dev/null); do
    echo "--- $p" >&2
    kubectl -n "$NS" logs "$p" -c byron-sidecar --tail=15 >&2 2>/dev/null || true
  done
}

# A failed local build must not be tested through an older image.
check_built() {
  local n
  [ "$E2E_LOCAL" = 1 ] || return 0
  for n in "$@"; do
    [ ! -f "$IMAGES/$n.failed" ] || fail "$(cat "$IMAGES/$n.failed")"
  done
}

# The tests install their own Byron release in namespaced mode (its operator
# watches only the test's namespace), so they share a cluster with other
# namespaced releases — scripts/demo's among them. An operator watching every
# namespace (the chart's default, operator.watchNamespaces empty) would also
# reconcile the tests' components and fight theirs: that one must go.
no_cluster_wide_operator() {
  local d wide=()
  for d in $(kubectl get deployment -A -l app.kubernetes.io/name=byron-operator \
      -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {end}'); do
    kubectl -n "${d%%/*}" get deployment "${d#*/}" -o jsonpath='{.spec.template.spec.containers[0].args}' |
      grep -q -- '--namespace=' || wide+=("$d")
  done
  [ ${#wide[@]} = 0 ] || fail "a Byron operator watching all namespaces is installed (${wide[*]}): it would reconcile the tests' components too; remove it (helm uninstall) or install it with operator.watchNamespaces"
}

# install_byron [HELM-ARGS...]: the real chart, released as $REL into $NS, the
# operator watching $NS only; waits for the operator and NATS (helm --wait).
# INSTALL_CHART: another chart directory to install (e2e.upgrade: an earlier
# commit's); the CRD applied is always the one under test.
install_byron() {
  REL=byron-e2e-$RANDOM
  BYRON_VALUES=(
    --set "operator.image.repository=${OPERATOR%:*}" --set-string "operator.image.tag=${OPERATOR##*:}"
    --set "sidecar.image.repository=${SIDECAR%:*}" --set-string "sidecar.image.tag=${SIDECAR##*:}"
    --set "nats.image.repository=${NATS%:*}" --set-string "nats.image.tag=${NATS##*:}"
    --set "cache.image=$MONGO" --set "cache.uriOptions=$CACHE_URI_OPTIONS" --set "cache.users=$CACHE_USERS"
    --set "operator.watchNamespaces={$NS}" --set nats.storage.size=256Mi
    --set nats.jetstream.maxFileStore=200M --set broker.maxBytes=32Mi
    "$@"
  )
  # helm installs a chart's CRDs only when absent: apply the one under test.
  kubectl apply --server-side --force-conflicts -f "$CHART/crds/" >/dev/null || fail "CRD apply"
  # retried: `kubectl wait` fails at once on a CRD created so recently that it has no status yet
  retry 30 "CRD Established" kubectl wait --for=condition=Established crd/byroncomponents.byron.io --timeout=30s
  # on exit: uninstall (its RBAC is cluster-scoped), then the namespace goes
  trap byron_cleanup EXIT
  helm install "$REL" "${INSTALL_CHART:-$CHART}" -n "$NS" --wait --timeout 180s "${BYRON_VALUES[@]}" >/dev/null ||
    fail "helm install of helm/byron"
  OPERATOR_DEPLOY=$REL-operator   # the release's fullname is $REL (it contains "byron")
  OPERATOR_SA=$REL-operator
}

byron_cleanup() {
  stop_port_forwards
  if [ -n "${REL:-}" ]; then helm uninstall "$REL" -n "$NS" --wait --timeout 60s >/dev/null 2>&1 || true; fi
  kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
}

# use_plugin: kubectl-byron from the build under test on PATH (kubectl byron ...).
use_plugin() {
  local dir=${BYRON_BINARY_DIR:-$BYRON_SOURCE_DIR/build}/cli
  [ -x "$dir/kubectl-byron" ] || fail "kubectl-byron not built in $dir"
  export PATH=$dir:$PATH
}

# apply_example FILE: an example component, its app image substituted.
apply_example() {
  sed "s#image: docker.io/byron/example-orders:[^ ]*#image: $EXAMPLE_IMG#" "$EXAMPLE/$1" |
    kubectl -n "$NS" apply -f - >/dev/null || fail "kubectl apply $1"
}

# port_forward SERVICE: a local port to the Service's port 80 (PORT).
PF_PIDS=()
port_forward() {
  local log; log=$(mktemp)
  kubectl -n "$NS" port-forward "svc/$1" 0:80 >"$log" 2>&1 &
  PF_PIDS+=($!)
  wait_for 30 "port-forward to $1" grep -q 'Forwarding from 127.0.0.1' "$log" ||
    { cat "$log" >&2; fail "kubectl port-forward svc/$1"; }
  PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\) ->.*/\1/p' "$log" | head -1)
  rm -f "$log"
}
stop_port_forwards() { local p; for p in "${PF_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; PF_PIDS=(); }

# gql URL QUERY: POST a GraphQL query; the answer in $ANSWER.
# With $TOKEN set, the request carries it as a bearer token (docs/security.md).
gql_try() {
  local body; body=$(python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$2")
  local auth=(); [ -z "${TOKEN:-}" ] || auth=(-H "Authorization: Bearer $TOKEN")
  ANSWER=$(curl -sS --max-time 20 -H 'Content-Type: application/json' "${auth[@]}" "$1" -d "$body" 2>&1)
}
gql() { gql_try "$@" || fail "no answer from $1 to $2: $ANSWER"; }
# jq_ PYTHON-EXPRESSION: evaluate over $ANSWER as `a` ('' on any error).
jq_() { python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$ANSWER" "$1" 2>/dev/null || true; }
# gql_until SECONDS URL QUERY EXPRESSION: repeat until EXPRESSION is True
# (the cache is eventually consistent with the log).
gql_until() {
  local end=$(( $(date +%s) + $1 ))
  while :; do
    gql_try "$2" "$3" && [ "$(jq_ "$4")" = True ] && return 0
    [ "$(date +%s)" -lt "$end" ] || fail "not within $1 s: $4; last answer: $ANSWER"
    sleep 0.3
  done
}

# client_pod [LABELS]: a pod "client" in $NS running the probe image (probe get,
# banner, mongo-ping, nats-pub), labelled as a Byron pod by default (so that
# NATS's NetworkPolicy lets it in and what refuses it is NATS itself); cx CMD
# runs in it.
client_pod() {
  local labels=${1:-app.kubernetes.io/part-of: byron}
  kubectl -n "$NS" apply -f - >/dev/null <<YAML || fail "client pod"
apiVersion: v1
kind: Pod
metadata:
  name: client
  labels: {$labels}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: client
    image: $PROBE
    imagePullPolicy: IfNotPresent
    args: [serve, ":8081"]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
YAML
  kubectl -n "$NS" wait --for=condition=Ready pod/client --timeout=120s >/dev/null || fail "client pod not Ready"
}
cx() { kubectl -n "$NS" exec client -- "$@"; }
