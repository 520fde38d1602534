#!/usr/bin/env bash
# A zero-downtime cache rebuild (issue 14 item 2, docs/sink.md "Rebuild") on a
# real cluster: the example's orders component, a client pod sending commands
# with `Byron-Consistency: projected` and reading every order back without a
# pause (rebuild_writer.py), and `kubectl byron rebuild orders` in the middle.
# Asserted: the command follows status.rebuild to Complete; only the sink
# rolled (the api pods are the same pods); not one command failed and not one
# read saw fewer orders than were already projected; the cache equals the fold
# of the log afterwards (`kubectl byron verify orders`, the fold checker in the
# sink pod); status and the sink's metrics name generation 1.
. "$(dirname "${BASH_SOURCE[0]}")/byron_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/writer_lib.sh"
eval "lib_$(declare -f fail)"
fail() {
  if [ -n "${NS:-}" ]; then
    echo "--- writer (last lines)" >&2
    kubectl -n "$NS" logs writer --tail=20 >&2 2>/dev/null || true
    echo "--- status.rebuild" >&2
    kubectl -n "$NS" get bc orders -o jsonpath='{.status.rebuild}' >&2 2>/dev/null || true
    dump_sidecar_logs byron.io/component=orders
  fi
  lib_fail "$@"
}
use_plugin
check_built operator sidecar example-orders ferretdb
no_cluster_wide_operator
new_ns e2e-rebuild
install_byron --set insights.period=5   # status.rebuild follows within 5 s
pass "chart installed (release $REL, operator watching $NS)"

orders_component | kubectl -n "$NS" apply -f - >/dev/null || fail "kubectl apply of the orders component"
kubectl -n "$NS" wait --for=condition=Ready bc/orders --timeout=180s >/dev/null || fail "bc/orders not Ready within 180s"
pass "bc/orders Ready"

WRITER_SCRIPT=rebuild_writer.py start_writer
# writer EXPR (rebuild_writer.py's lines, not writer_lib.sh's): EXPR over the
# client's round lines so far: rounds, cmds, reads.
writer() {
  kubectl -n "$NS" logs writer 2>/dev/null | python3 -c '
import json, sys
rounds = [json.loads(l) for l in sys.stdin if l.startswith("{\"round\"")]
cmds = [c for r in rounds for c in r["commands"]]
reads = [r["read"] for r in rounds]
print(eval(sys.argv[1]))' "$1"
}
writer_at_least() { [ "$(writer "$1")" -ge "$2" ]; }
retry 120 "the writer's first 20 rounds" writer_at_least 'len(rounds)' 20
pass "commands and reads flow: $(writer 'len(rounds)') rounds"

api_pods() { kubectl -n "$NS" get pod -l byron.io/component=orders,byron.io/role=api -o jsonpath='{.items[*].metadata.name}'; }
api_before=$(api_pods)
rounds_before=$(writer 'len(rounds)')
out=$(kubectl byron -n "$NS" rebuild orders --timeout 10m 2>&1) || fail "kubectl byron rebuild orders: $out"
printf '%s\n' "$out" | sed 's/^/  /'
[[ $out == *"rebuild requested"* && $out == *"Complete"* ]] || fail "kubectl byron rebuild did not follow to Complete: $out"
[ "$(kubectl -n "$NS" get bc orders -o jsonpath='{.status.rebuild.generation} {.status.rebuild.phase}')" = "1 Complete" ] ||
  fail "status.rebuild: $(kubectl -n "$NS" get bc orders -o jsonpath='{.status.rebuild}')"
rounds_during=$(( $(writer 'len(rounds)') - rounds_before ))
[ "$rounds_during" -gt 0 ] || fail "no round ran during the rebuild"
pass "kubectl byron rebuild: Complete, generation 1; $rounds_during rounds of commands and reads meanwhile"

[ "$(api_pods)" = "$api_before" ] || fail "the api pods changed: $api_before -> $(api_pods)"
retry 60 "4 more rounds after the switch" writer_at_least 'len(rounds)' "$(( $(writer 'len(rounds)') + 4 ))"
kubectl -n "$NS" exec writer -- touch /tmp/stop || fail "stop the writer"
writer_done() { [ "$(kubectl -n "$NS" get pod writer -o jsonpath='{.status.phase}')" = Succeeded ]; }
retry 120 "the writer's end" writer_done
[ "$(writer 'len([c for c in cmds if c["verdict"] != "accepted"])')" = 0 ] ||
  fail "commands failed: $(writer '[c for c in cmds if c["verdict"] != "accepted"][:3]')"
[ "$(writer 'len([r for r in reads if r["error"] or r["partial"]])')" = 0 ] ||
  fail "reads failed or saw a partial cache: $(writer '[r for r in reads if r["error"] or r["partial"]][:3]')"
pass "the api pods stayed ($api_before); $(writer 'len(cmds)') commands accepted, none failed ($(writer 'len([c for c in cmds if not c["projected"]])') answered before the cache showed them); $(writer 'len(reads)') reads, none partial (last: $(writer 'reads[-1]'))"

out=$(kubectl byron -n "$NS" verify orders 2>&1) || fail "kubectl byron verify orders: $out"
pass "the cache equals the fold of the log: $(printf '%s' "$out" | tail -1)"
out=$(kubectl byron -n "$NS" status orders 2>&1) || fail "kubectl byron status orders: $out"
[[ $out == *"Rebuild:       Complete"* ]] || fail "kubectl byron status shows no completed rebuild: $out"
pass "kubectl byron status: $(printf '%s\n' "$out" | grep '^Rebuild:')"
