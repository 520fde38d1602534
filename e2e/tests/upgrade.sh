#!/usr/bin/env bash
# The upgrade path (issue 14, docs/upgrading.md): Byron installed from an
# earlier commit — its chart, its operator and sidecar images, built from that
# commit's tree (e2e/cluster/images.sh --previous) — runs the example's orders
# component while a client pod sends commands without a pause
# (evolution_writer.py); then `helm upgrade` to this tree's chart and images,
# as docs/upgrading.md tells a user to: the CRD first, then the chart.
#
# Asserted: the new operator takes over and rolls the component's api and sink
# onto the new sidecar image (the pod template changes; no hand edit); the
# component is Ready at its generation again; no command went unanswered or
# met a stopping api pod (NO_ANSWER, SHUTTING_DOWN), none was refused; every
# accepted command's event is in the stream, once; the cache equals the fold
# of the stream (byron-sidecar --mode=verify in the new sink pod).
#
# BYRON_UPGRADE_FROM: the commit to upgrade from (default HEAD~1: the previous
# commit). On another cluster, BYRON_E2E_PREVIOUS_OPERATOR_IMAGE and
# BYRON_E2E_PREVIOUS_SIDECAR_IMAGE name that commit's images.
. "$(dirname "${BASH_SOURCE[0]}")/byron_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/writer_lib.sh"
eval "lib_$(declare -f fail)"
fail() {
  if [ -n "${NS:-}" ]; then
    echo "--- writer" >&2
    kubectl -n "$NS" logs writer --tail=100 >&2 2>/dev/null || true
    [ -z "${report:-}" ] || printf -- '--- fold checker\n%s\n' "$report" >&2
    kubectl -n "$NS" get pods -o wide >&2 2>/dev/null || true
    kubectl -n "$NS" logs "deployment/${OPERATOR_DEPLOY:-none}" --tail=20 >&2 2>/dev/null || true
  fi
  lib_fail "$@"
}

from=${BYRON_UPGRADE_FROM:-HEAD~1}
sha=$(git -C "$BYRON_SOURCE_DIR" rev-parse --verify --quiet "$from^{commit}") ||
  fail "BYRON_UPGRADE_FROM=$from is not a commit of $BYRON_SOURCE_DIR (a shallow clone has no previous commit: clone with history)"
tree=$BYRON_CACHE/trees/$sha
if [ "$E2E_LOCAL" = 1 ]; then
  "$BYRON_SOURCE_DIR/e2e/cluster/images.sh" --previous="$sha" --import operator-previous sidecar-previous >&2 ||
    fail "the images of $from ($sha) did not build: $IMAGES/operator-previous.build.log, $IMAGES/sidecar-previous.build.log"
  PREV_OPERATOR=$OPERATOR_PREVIOUS_IMAGE PREV_SIDECAR=$SIDECAR_PREVIOUS_IMAGE
else
  PREV_OPERATOR=${BYRON_E2E_PREVIOUS_OPERATOR_IMAGE:?on another cluster, name the previous operator image}
  PREV_SIDECAR=${BYRON_E2E_PREVIOUS_SIDECAR_IMAGE:?and the previous sidecar image}
  mkdir -p "$tree" && git -C "$BYRON_SOURCE_DIR" archive "$sha" | tar -x -C "$tree" || fail "git archive $sha"
fi
[ -d "$tree/helm/byron" ] || fail "no chart in $from's tree ($tree)"
check_built operator sidecar example-orders ferretdb
no_cluster_wide_operator
new_ns e2e-upgrade

# --- the earlier release, under traffic ---------------------------------------------------
NEW_OPERATOR=$OPERATOR NEW_SIDECAR=$SIDECAR
OPERATOR=$PREV_OPERATOR SIDECAR=$PREV_SIDECAR INSTALL_CHART=$tree/helm/byron install_byron
OPERATOR=$NEW_OPERATOR SIDECAR=$NEW_SIDECAR
pass "$from ($(git -C "$BYRON_SOURCE_DIR" log -1 --format='%h %cs' "$sha")) installed: its chart, $PREV_OPERATOR, $PREV_SIDECAR"

orders_component | kubectl -n "$NS" apply -f - >/dev/null || fail "kubectl apply of the orders component"
kubectl -n "$NS" wait --for=condition=Ready bc/orders --timeout=180s >/dev/null || fail "bc/orders not Ready within 180s"
sidecar_image() {   # DEPLOYMENT: the image of its byron-sidecar container
  kubectl -n "$NS" get deployment "$1" -o jsonpath='{.spec.template.spec.containers[?(@.name=="byron-sidecar")].image}'
}
[ "$(sidecar_image orders-api) $(sidecar_image orders-sink)" = "$PREV_SIDECAR $PREV_SIDECAR" ] ||
  fail "before the upgrade the component runs $(sidecar_image orders-api), $(sidecar_image orders-sink); want $PREV_SIDECAR"
start_writer NEW_MODEL=0
retry 120 "the writer's first 8 accepted commands" writer_at_least 'len(acc)' 8
pass "bc/orders Ready on the earlier sidecar; commands flow: $(writer 'len(acc)') accepted"

# --- the upgrade: the CRD (install_byron applied this tree's), then the chart ---------------
before=$(writer 'len(acc)')
helm upgrade "$REL" "$CHART" -n "$NS" --wait --timeout 300s "${BYRON_VALUES[@]}" \
  --set "operator.image.repository=${OPERATOR%:*}" --set-string "operator.image.tag=${OPERATOR##*:}" \
  --set "sidecar.image.repository=${SIDECAR%:*}" --set-string "sidecar.image.tag=${SIDECAR##*:}" >/dev/null ||
  fail "helm upgrade to this tree's chart"
kubectl -n "$NS" rollout status "deployment/$OPERATOR_DEPLOY" --timeout=180s >/dev/null || fail "the operator did not roll out"
on_new_sidecar() { [ "$(sidecar_image orders-api) $(sidecar_image orders-sink)" = "$SIDECAR $SIDECAR" ]; }
retry 180 "the new operator moves the component to $SIDECAR" on_new_sidecar
for d in orders-api orders-sink; do
  kubectl -n "$NS" rollout status "deployment/$d" --timeout=300s >/dev/null || fail "$d did not roll out"
done
ready() {
  local g; g=$(kubectl -n "$NS" get bc orders -o jsonpath='{.metadata.generation}')
  [ "$(kubectl -n "$NS" get bc orders -o jsonpath='{.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}')" = "$g True" ]
}
retry 180 "bc/orders Ready at its generation after the upgrade" ready
retry 120 "8 more accepted commands through the new pods" writer_at_least 'len(acc)' "$(( $(writer 'len(acc)') + 8 ))"
pass "upgraded: operator $OPERATOR, api and sink rolled onto $SIDECAR, bc/orders Ready; $(( $(writer 'len(acc)') - before )) commands accepted since the upgrade began"

# --- nothing lost -------------------------------------------------------------------------
stop_writer
writer_lost_nothing
[ "$(writer 'len([l for l in cmds if l["verdict"] == "refused"])')" = 0 ] ||
  fail "commands refused during the upgrade: $(writer '[l for l in cmds if l["verdict"] == "refused"][:3]')"
accepted=$(writer 'len(acc)')
pass "the writer stopped: $accepted commands accepted, none refused or unanswered, $(writer 'sum(l["attempts"] - 1 for l in cmds)') re-sent; the slowest answer: $(writer 'max(cmds, key=lambda l: l["ms"])["ms"]') ms"
sink_pods() { kubectl -n "$NS" get pod -l byron.io/component=orders,byron.io/role=sink -o jsonpath='{.items[*].metadata.name}'; }
one_sink() { [[ $(sink_pods) =~ ^[a-z0-9-]+$ ]]; }
retry 120 "the earlier sink pod gone (one sink pod left)" one_sink
sink=$(sink_pods)
fold_equals_cache "$sink" "$accepted"
pass "fold == cache ($FOLD_EVENTS events, $FOLD_AGGREGATES orders); every accepted command's event is in the stream"
