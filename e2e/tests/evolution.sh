#!/usr/bin/env bash
# A model change rolled out while commands flow (issue 10, docs/evolution.md):
# the example's orders component on a real cluster, a client pod sending
# commands without a pause (evolution_writer.py); two refused changes (a
# retyped field, new partitions) rejected by `kubectl apply` naming the field;
# then an allowed one (an optional field `note`, an enum value ON_HOLD) applied
# while the client keeps writing events that use them (and old-schema events
# on the same orders right behind them).
#
# The sink Deployment is paused for the first part of the rollout, so that the
# old sink pod certainly meets events of the new model (the api rolls first):
# it must defer them (byron_sink_events_total{outcome="deferred"} > 0), never
# dead-letter them. Resumed, old and new sink pods run side by side until the
# old one goes. Asserted: no dead letter, neither stored nor tried (the old
# sink's metrics read until it is gone and its whole log, the new one's, and
# the DLQ stream as the fold checker reads it);
# every accepted command's event is in the stream (the stream holds exactly as
# many events as commands were accepted, and each order's cached version is
# the number of commands accepted on it); the cache equals the fold of the
# stream (byron-sidecar --mode=verify in the sink pod).
. "$(dirname "${BASH_SOURCE[0]}")/byron_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/writer_lib.sh"
# On failure, also what the client and the sidecars last said.
eval "lib_$(declare -f fail)"
fail() {
  if [ -n "${NS:-}" ]; then
    echo "--- writer" >&2
    kubectl -n "$NS" logs writer --tail=200 >&2 2>/dev/null || true
    [ -z "${report:-}" ] || printf -- '--- fold checker\n%s\n' "$report" >&2
    dump_sidecar_logs byron.io/component=orders
  fi
  lib_fail "$@"
}
check_built operator sidecar example-orders ferretdb
no_cluster_wide_operator
new_ns e2e-evolution
install_byron
pass "chart installed (release $REL, operator watching $NS)"

bc() { kubectl -n "$NS" get bc orders -o jsonpath="$1"; }
config_generation() {   # schemaGeneration in the ConfigMap the sidecars mount
  kubectl -n "$NS" get configmap orders-config -o jsonpath='{.data.component\.json}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("schemaGeneration"))'
}
# sink_metric POD OUTCOME: byron_sink_events_total{outcome=OUTCOME} summed over
# event types, from the pod's admin port (read from its app container).
sink_metric() {
  kubectl -n "$NS" exec "$1" -c app -- python3 -c '
import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:9090/metrics", timeout=5).read().decode()
want = "outcome=\"%s\"" % sys.argv[1]
print(int(sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
              if l.startswith("byron_sink_events_total{") and want in l)))' "$2"
}
# dead_letter_attempts FILE: the sink's log lines of a dead letter, stored or
# not (a dead letter it cannot store is retried and counted as "failed").
dead_letter_attempts() {
  grep -c -E '"msg":"(event dead-lettered|event terminated|cannot dead-letter)' "$1" || true
}
sink_pods() { kubectl -n "$NS" get pod -l byron.io/component=orders,byron.io/role=sink -o jsonpath='{.items[*].metadata.name}'; }

orders_component | kubectl -n "$NS" apply -f - >/dev/null || fail "kubectl apply of the orders component"
kubectl -n "$NS" wait --for=condition=Ready bc/orders --timeout=180s >/dev/null || fail "bc/orders not Ready within 180s"
gen0=$(bc '{.metadata.generation}')
[ "$(bc '{.status.schema.generation}') $(config_generation)" = "$gen0 $gen0" ] ||
  fail "schema generation: status $(bc '{.status.schema.generation}'), component.json $(config_generation), want $gen0"
pass "bc/orders Ready; schemaGeneration $gen0 in status.schema and component.json"

# --- commands flow -------------------------------------------------------------------------
start_writer
retry 90 "the writer's first 8 accepted commands" writer_at_least 'len(acc)' 8
pass "commands flow: $(writer 'len(acc)') accepted; the new field refused ($(writer 'sorted({l.get("code") for l in cmds if l["new"]})'))"

# --- refused changes -----------------------------------------------------------------------
refused() {   # CHANGE WANT...: kubectl apply fails, and its message holds each WANT
  local out w
  if out=$(orders_component "$1" | kubectl -n "$NS" apply -f - 2>&1); then fail "kubectl apply accepted the $1 change: $out"; fi
  shift
  for w in "$@"; do [[ $out == *"$w"* ]] || fail "refusal without '$w': $out"; done
}
refused retype 'spec.models[0].fields[1].type' 'total may not change from Float to Int'
refused partitions 'spec.partitions' 'immutable'
[ "$(bc '{.metadata.generation}')" = "$gen0" ] || fail "a refused change moved the generation"
pass "refused at kubectl apply, naming the field: total retyped (spec.models[0].fields[1].type), partitions changed (spec.partitions)"

# --- the allowed change, rolled out while commands flow --------------------------------------
old_sink=$(sink_pods)
[[ $old_sink =~ ^[a-z0-9-]+$ ]] || fail "want one sink pod before the change, got '$old_sink'"
old_log=$(mktemp)
kubectl -n "$NS" logs -f "$old_sink" -c byron-sidecar >"$old_log" 2>&1 &   # ends with the pod
old_log_pid=$!
trap 'kill "$old_log_pid" 2>/dev/null || true; rm -f "$old_log"; byron_cleanup' EXIT
kubectl -n "$NS" rollout pause deployment/orders-sink >/dev/null || fail "pause the sink Deployment"
orders_component note | kubectl -n "$NS" apply -f - >/dev/null || fail "kubectl apply of the new field and enum value"
gen1=$(bc '{.metadata.generation}')
[ "$gen1" -gt "$gen0" ] || fail "generation $gen1 after the change"
schema_at() { [ "$(bc '{.status.schema.generation}')" = "$1" ]; }
retry 60 "schemaGeneration $gen1 in status.schema" schema_at "$gen1"
[ "$(config_generation)" = "$gen1" ] || fail "component.json has schemaGeneration $(config_generation), want $gen1"
kubectl -n "$NS" rollout status deployment/orders-api --timeout=180s >/dev/null || fail "the API did not roll out"
pass "schemaGeneration $gen0 -> $gen1; the API rolled out (the sink is paused)"

# The old sink meets the new model's events: deferred, not dead-lettered.
end=$(( $(date +%s) + 120 )) deferred=0
while [ "$deferred" = 0 ]; do
  dead=$(sink_metric "$old_sink" dead_lettered) || fail "metrics of $old_sink"
  [ "$dead" = 0 ] || fail "the old sink dead-lettered $dead events of the new model"
  [ "$(dead_letter_attempts "$old_log")" = 0 ] || fail "the old sink tried to dead-letter: $(grep dead- "$old_log" | head -3)"
  deferred=$(sink_metric "$old_sink" deferred) || fail "metrics of $old_sink"
  [ "$(date +%s)" -lt "$end" ] || fail "the old sink ($old_sink) deferred no event of generation $gen1 within 120s"
  [ "$deferred" != 0 ] || sleep 0.5
done
pass "the old sink deferred $deferred event(s) of the new model, dead-lettered 0; accepted with the new field or value: $(writer 'len(new)')"

# Resumed: old and new sink pods side by side, then the old one goes. Its
# dead-letter count is read until it is gone.
kubectl -n "$NS" rollout resume deployment/orders-sink >/dev/null || fail "resume the sink Deployment"
end=$(( $(date +%s) + 180 ))
while kubectl -n "$NS" get pod "$old_sink" >/dev/null 2>&1; do
  if d=$(sink_metric "$old_sink" dead_lettered 2>/dev/null); then dead=$d; fi
  if d=$(sink_metric "$old_sink" deferred 2>/dev/null); then deferred=$d; fi
  [ "$dead" = 0 ] || fail "the old sink dead-lettered $dead events during the rollout"
  [ "$(dead_letter_attempts "$old_log")" = 0 ] || fail "the old sink tried to dead-letter: $(grep dead- "$old_log" | head -3)"
  [ "$(date +%s)" -lt "$end" ] || fail "the old sink pod $old_sink still there 180s after the resume"
  sleep 0.5
done
log_done() { ! kill -0 "$old_log_pid" 2>/dev/null; }
retry 30 "the old sink's log to its end" log_done
[ "$(dead_letter_attempts "$old_log")" = 0 ] || fail "the old sink tried to dead-letter: $(grep dead- "$old_log" | head -3)"
logged_deferred=$(grep -c '"msg":"event deferred' "$old_log" || true)
[ "$logged_deferred" -gt 0 ] || fail "the old sink logged no deferred event"
kubectl -n "$NS" rollout status deployment/orders-sink --timeout=180s >/dev/null || fail "the sink did not roll out"
ready_at() {
  [ "$(bc '{.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}')" = "$1 True" ]
}
retry 120 "bc/orders Ready at generation $gen1" ready_at "$gen1"
new_sink=$(sink_pods)
[[ $new_sink =~ ^[a-z0-9-]+$ ]] && [ "$new_sink" != "$old_sink" ] || fail "sink pods after the rollout: '$new_sink'"
pass "the sink rolled out ($old_sink: $logged_deferred deferrals logged, last metric read $deferred, no dead letter tried -> $new_sink); bc/orders Ready"

# New-field commands go on through the new pods; then the client stops.
retry 60 "4 more accepted commands with the new field or value" writer_at_least 'len(new)' "$(( $(writer 'len(new)') + 4 ))"
stop_writer
writer_lost_nothing
# The only refusal expected: an old api pod that does not know the new field or value.
odd='[l for l in cmds if l["verdict"] == "refused" and (not l["new"] or l["code"] != "GRAPHQL_VALIDATION_FAILED")]'
[ "$(writer "len($odd)")" = 0 ] || fail "commands refused for another reason than an old api's schema: $(writer "$odd[:3]")"
accepted=$(writer 'len(acc)')
pass "the writer stopped: $accepted commands accepted ($(writer 'len(new)') with the new field or value), $(writer 'len(cmds) - len(acc)') refused by old api pods, $(writer 'sum(l["attempts"] - 1 for l in cmds)') re-sent; the slowest answer: $(writer 'max(cmds, key=lambda l: l["ms"])')"

# --- the log and the cache -------------------------------------------------------------------
new_log=$(mktemp)
kubectl -n "$NS" logs "$new_sink" -c byron-sidecar >"$new_log" 2>&1 || fail "logs of $new_sink"
[ "$(sink_metric "$new_sink" dead_lettered) $(dead_letter_attempts "$new_log")" = "0 0" ] ||
  fail "the new sink dead-lettered events: $(grep dead- "$new_log" | head -3)"
rm -f "$new_log"
fold_equals_cache "$new_sink" "$accepted"
pass "fold == cache ($FOLD_EVENTS events, $FOLD_AGGREGATES orders); every accepted command's event is in the stream; no dead letter"
