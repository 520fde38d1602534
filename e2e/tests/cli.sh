#!/usr/bin/env bash
# kubectl byron against the orders example on a real cluster (issue 14's
# proof, docs/cli.md): the sink's app has a bug for one carrier
# (ORDERS_BROKEN_CARRIERS, examples/orders/app/orders.py), so the OrderShipped
# event of an order shipped there is dead-lettered and its order blocked;
# `kubectl byron status` counts it, `dlq list` shows it, `events` reads the
# order's log; the app is fixed (the env goes, the sink rolls), `dlq replay`
# projects it, `dlq list` is empty, the order is SHIPPED, and `verify` finds
# the cache equal to the fold of the stream. Every kubectl byron call goes
# through the API server (pods/exec into the sink pod), as a user's would.
. "$(dirname "${BASH_SOURCE[0]}")/byron_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/writer_lib.sh"
eval "lib_$(declare -f fail)"
fail() {
  if [ -n "${NS:-}" ]; then
    dump_sidecar_logs byron.io/component=orders,byron.io/role=sink
  fi
  lib_fail "$@"
}
use_plugin
check_built operator sidecar example-orders ferretdb
no_cluster_wide_operator
new_ns e2e-cli
install_byron
kb() { kubectl byron -n "$NS" "$@"; }

orders_component broken | kubectl -n "$NS" apply -f - >/dev/null || fail "kubectl apply of the orders component"
kubectl -n "$NS" wait --for=condition=Ready bc/orders --timeout=180s >/dev/null || fail "bc/orders not Ready within 180s"
port_forward orders-api
API=http://127.0.0.1:$PORT/graphql
gql "$API" 'mutation { createOrder(input: {id: "o-bad", customer: "ann", total: 5}) { id } }'
gql "$API" 'mutation { createOrder(input: {id: "o-good", customer: "bob", total: 7}) { id } }'
gql "$API" 'mutation { shipOrder(id: "o-bad", input: {carrier: "nowhere"}) { version } }'
[ "$(jq_ 'a["data"]["shipOrder"]["version"]')" = 2 ] || fail "shipOrder o-bad: $ANSWER"
gql "$API" 'mutation { shipOrder(id: "o-good", input: {carrier: "ups"}) { version } }'
[ "$(jq_ 'a["data"]["shipOrder"]["version"]')" = 2 ] || fail "shipOrder o-good: $ANSWER"
gql_until 60 "$API" '{ order(id: "o-good") { status } }' 'a["data"]["order"]["status"] == "SHIPPED"'
pass "two orders shipped: o-good projected; o-bad's OrderShipped meets the app's bug"

# --- the dead letter, as kubectl byron shows it ----------------------------------------
open_letters() { kb dlq list orders -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'; }
one_open() { [ "$(open_letters)" = 1 ]; }
retry 120 "one dead letter in kubectl byron dlq list" one_open
letter=$(kb dlq list orders -o json) || fail "kubectl byron dlq list: $letter"
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["items"][0].get(sys.argv[2]))' "$letter" "$1"; }
[ "$(field type) $(field model) $(field id)" = "OrderShipped Order o-bad" ] || fail "the dead letter is not o-bad's OrderShipped: $letter"
[[ $(field error) == *"no route to carrier nowhere"* ]] || fail "the dead letter does not say the app's error: $letter"
seq=$(field deadLetter)
[[ $seq =~ ^[0-9]+$ ]] || fail "no sequence in $letter"
table=$(kb dlq list orders) || fail "kubectl byron dlq list: $table"
[[ $table == *SEQ*STATE*TYPE* && $table == *OrderShipped* && $table == *Order/o-bad* ]] || fail "dlq list's table: $table"
dead_counted() { [[ $(kb status orders) == *"Dead letters:  1 open"* ]]; }
retry 60 "kubectl byron status orders counts the dead letter" dead_counted
events=$(kb events orders --model Order --id o-bad) || fail "kubectl byron events: $events"
[[ $events == *OrderCreated* && $events == *OrderShipped* && $events != *o-good* ]] || fail "the log of o-bad: $events"
gql "$API" '{ order(id: "o-bad") { status } }'
[ "$(jq_ 'a["data"]["order"]["status"]')" = OPEN ] || fail "o-bad projected past its dead letter: $ANSWER"
pass "kubectl byron: dlq list shows o-bad's OrderShipped (#$seq, the app's error), status counts it, events reads o-bad's log; o-bad still OPEN in the cache"

# --- fixed, replayed, gone ------------------------------------------------------------
orders_component | kubectl -n "$NS" apply -f - >/dev/null || fail "kubectl apply of the fixed component"
kubectl -n "$NS" rollout status deployment/orders-sink --timeout=180s >/dev/null || fail "the fixed sink did not roll out"
sink_count() { [ "$(kubectl -n "$NS" get pod -l byron.io/component=orders,byron.io/role=sink -o jsonpath='{.items[*].metadata.name}' | wc -w)" = 1 ]; }
retry 120 "one sink pod (the fixed one)" sink_count
out=$(kb dlq replay orders "$seq" 2>&1) || fail "kubectl byron dlq replay orders $seq: $out"
[[ $out == *replayed* ]] || fail "the replay does not say replayed: $out"
[ "$(open_letters)" = 0 ] || fail "dead letters still open after the replay: $(kb dlq list orders)"
gql_until 60 "$API" '{ order(id: "o-bad") { status carrier version } }' 'a["data"]["order"]["status"] == "SHIPPED"'
[ "$(jq_ 'a["data"]["order"]["carrier"]') $(jq_ 'a["data"]["order"]["version"]')" = "nowhere 2" ] || fail "o-bad after the replay: $ANSWER"
# The fold checker connects to NATS with the sink pod's credentials, which the operator mints
# again when the component changes (the mounted file follows within a kubelet sync): retried.
verified() { kb verify orders; }
retry 120 "kubectl byron verify orders: equal" verified
out=$(kb verify orders 2>&1) || fail "kubectl byron verify orders: $out"
[[ $out == equal* ]] || fail "kubectl byron verify orders: $out"
pass "fixed and replayed: dlq list empty, o-bad SHIPPED (carrier nowhere, version 2), kubectl byron verify: the cache is the fold of the log"
