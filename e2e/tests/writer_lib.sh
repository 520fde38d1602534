# e2e/tests/writer_lib.sh — a client pod that sends commands to the orders
# component without a pause (evolution_writer.py), and the checks that no
# command was lost and that the cache is the fold of the log: shared by the
# tests that change a running component under traffic (evolution.sh, upgrade.sh).
# shellcheck shell=bash

# orders_component [CHANGE]: the example as JSON, open to anonymous callers (this test
# is about the model or the rollout, not about tokens); CHANGE: note (an optional field and an
# enum value), retype (total: Float -> Int), partitions (doubled), broken (the sink app's
# OrderShipped handler fails for carrier "nowhere").
orders_component() {
  sed "s#image: docker.io/byron/example-orders:[^ ]*#image: $EXAMPLE_IMG#" "$EXAMPLE/component.yaml" |
    kubectl -n "$NS" create --dry-run=client -o json -f - | python3 -c '
import json, sys
bc = json.load(sys.stdin); s = bc["spec"]; change = sys.argv[1]
s["auth"] = {"rules": [{"operations": ["*"], "anonymous": True, "description": "e2e: open"}]}
if change == "note":
    s["models"][0]["fields"].append({"name": "note", "type": "String"})
    s["enums"][0]["values"].append("ON_HOLD")
elif change == "retype":
    next(f for f in s["models"][0]["fields"] if f["name"] == "total")["type"] = "Int"
elif change == "partitions":
    s["partitions"] = s["partitions"] * 2
elif change == "broken":  # the sink app fails OrderShipped for carrier "nowhere" (orders.py)
    s["sink"]["env"].append({"name": "ORDERS_BROKEN_CARRIERS", "value": "nowhere"})
json.dump(bc, sys.stdout)' "${1:-}"
}

# start_writer [NAME=VALUE...]: the writer pod, with extra environment; it runs
# e2e/tests/$WRITER_SCRIPT (default evolution_writer.py).
start_writer() {
  local env='{name: API, value: "http://orders-api/graphql"}' kv script=${WRITER_SCRIPT:-evolution_writer.py}
  for kv in "$@"; do env+=", {name: ${kv%%=*}, value: \"${kv#*=}\"}"; done
  kubectl -n "$NS" create configmap writer --from-file="$here_tests/$script" >/dev/null ||
    fail "writer ConfigMap"
  kubectl -n "$NS" apply -f - >/dev/null <<YAML || fail "writer pod"
apiVersion: v1
kind: Pod
metadata: {name: writer, labels: {app.kubernetes.io/part-of: byron}}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: writer
    image: $EXAMPLE_IMG
    imagePullPolicy: IfNotPresent
    command: [python3, /writer/$script]
    env: [$env]
    volumeMounts: [{name: writer, mountPath: /writer}, {name: tmp, mountPath: /tmp}]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
  volumes: [{name: writer, configMap: {name: writer}}, {name: tmp, emptyDir: {}}]
YAML
}

# writer EXPR: EXPR evaluated by python over the client's lines so far: cmds
# (one per command), acc (the accepted ones), new (those using the new model).
writer() {
  kubectl -n "$NS" logs writer 2>/dev/null | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.startswith("{")]
cmds = [l for l in lines if "verdict" in l]
acc = [l for l in cmds if l["verdict"] == "accepted"]
new = [l for l in acc if l["new"]]
print(eval(sys.argv[1]))' "$1"
}
writer_at_least() { [ "$(writer "$1")" -ge "$2" ]; }   # for retry

# stop_writer: the writer ends its round and exits.
stop_writer() {
  kubectl -n "$NS" exec writer -- touch /tmp/stop || fail "stop the writer"
  writer_done() { [ "$(kubectl -n "$NS" get pod writer -o jsonpath='{.status.phase}')" = Succeeded ]; }
  retry 120 "the writer's end" writer_done
}

# writer_lost_nothing: every command got a definite answer, and none met an
# api pod that was gone (NO_ANSWER) or draining (SHUTTING_DOWN): pods leave
# the Service before they stop (preStop).
writer_lost_nothing() {
  [ "$(writer 'len([l for l in cmds if l["verdict"] == "unknown"])')" = 0 ] ||
    fail "commands without a definite answer: $(writer '[l for l in cmds if l["verdict"] == "unknown"][:3]')"
  local gone='[l for l in cmds if {"NO_ANSWER", "SHUTTING_DOWN"} & set(l.get("retried", []))]'
  [ "$(writer "len($gone)")" = 0 ] || fail "commands sent to an api pod that was stopping or gone: $(writer "$gone[:3]")"
}

# fold_equals_cache SINK_POD ACCEPTED: the fold checker in the sink pod finds
# the cache equal to the fold of the stream, the stream holds ACCEPTED events,
# and each order's cached version is the number of commands accepted on it.
fold_equals_cache() {
  local sink=$1 accepted=$2
  report=$(kubectl -n "$NS" exec "$sink" -c byron-sidecar -- byron-sidecar --mode=verify 2>/dev/null) ||
    fail "byron-sidecar --mode=verify in $sink: exit $?: $report"
  summary=$(printf '%s\n' "$report" | grep '"kind":"summary"') || fail "no summary from the fold checker: $report"
  field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$summary" "$1"; }
  [ "$(field result) $(field differences) $(field dead_lettered) $(field invalid)" = "equal 0 0 0" ] ||
    fail "fold checker: $report"
  [ "$(field events)" = "$accepted" ] || fail "the stream holds $(field events) events, $accepted commands were accepted"
  local want got
  want=$(writer 'json.dumps({i: sum(1 for l in acc if l["id"] == i) for i in {l["id"] for l in acc}}, sort_keys=True)')
  got=$(kubectl -n "$NS" exec "$sink" -c app -- python3 -c '
import json, urllib.request
versions, after = {}, None
while True:
    q = "{ orders(first: 1000%s) { edges { node { id version } } pageInfo { hasNextPage endCursor } } }" % (
        ", after: %s" % json.dumps(after) if after else "")
    req = urllib.request.Request("http://orders-api/graphql", json.dumps({"query": q}).encode(),
                                 {"Content-Type": "application/json"})
    page = json.load(urllib.request.urlopen(req, timeout=20))["data"]["orders"]
    versions.update((e["node"]["id"], e["node"]["version"]) for e in page["edges"])
    if not page["pageInfo"]["hasNextPage"]:
        break
    after = page["pageInfo"]["endCursor"]
print(json.dumps(versions, sort_keys=True))') || fail "orders query"
  [ "$got" = "$want" ] || fail "cached versions differ from the accepted commands: cache $got, accepted $want"
  FOLD_EVENTS=$(field events) FOLD_AGGREGATES=$(field aggregates)
}
