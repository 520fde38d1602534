#!/usr/bin/env bash
# bench/operator/run.sh [N] [WORKERS] [CLIENT_THREADS]
#
# N ByronComponents created at once against a fresh scripts/testenv
# (kube-apiserver + etcd on loopback):
#   1. baseline: bench_operator writes what a reconcile writes (component POST,
#      Secret POST, 6 server-side applies, status PATCH) for N components in
#      namespace bench-raw, with CLIENT_THREADS threads, then again with
#      CLIENT_THREADS+WORKERS threads — the raw rate of a plain client on the
#      same API server in the same run;
#   2. operator: byron-operator (--workers WORKERS, watching bench-op) is
#      started, its idle RSS read; bench_operator POSTs N components and polls
#      until every one has status for its generation and every child exists;
#      then the operator's RSS is read again.
# Build first: cmake -S . -B /tmp/opbuild -G Ninja && ninja -C /tmp/opbuild byron-operator bench_operator
set -euo pipefail
N=${1:-1000}
W=${2:-8}
T=${3:-8}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BYRON_BUILD:-/tmp/opbuild}
dir=$(mktemp -d /tmp/byron-bench-op.XXXXXX)
op_pid=
cleanup() {
  [ -n "$op_pid" ] && kill -TERM "$op_pid" 2>/dev/null && wait "$op_pid" 2>/dev/null || true
  "$src/scripts/testenv" stop "$dir/env" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"$src/scripts/testenv" start "$dir/env" >/dev/null 2>&1
export KUBECONFIG=$dir/env/kubeconfig
bench=$build/operator/bench_operator
rss() {
  awk '/^VmRSS|^VmHWM/ {printf "%s %.1f MiB  ", $1, $2/1024}' "/proc/$1/status"
  awk -v hz="$(getconf CLK_TCK)" '{printf "cpu %.1f s", ($14 + $15) / hz}' "/proc/$1/stat"
}

echo "# N=$N operator workers=$W client threads=$T ($(nproc) cores, $(date -u +%FT%TZ))"
"$bench" crd "$src"
"$bench" raw bench-raw "$N" "$T"
# The operator run has T creating threads and W workers writing at once:
# a baseline with as many writers, for a like-for-like rate.
"$bench" raw bench-raw2 "$N" "$((T + W))"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$build/operator/byron-operator" --kubeconfig "$KUBECONFIG" --namespace bench-op --workers "$W" \
  --sidecar-image byron-sidecar:bench --default-broker-url nats://nats:4222 \
  --metrics-port "$port" --probe-port "$port" --log-level warn 2>"$dir/operator.log" &
op_pid=$!
until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.1; done
sleep 1
echo "operator idle: $(rss $op_pid)"
"$bench" operator bench-op "$N" "$T" 2>"$dir/progress.log"
echo "operator at N=$N: $(rss $op_pid)"
# The machine is shared: a second baseline after the operator run brackets it.
"$bench" raw bench-raw3 "$N" "$((T + W))"
curl -fsS "http://127.0.0.1:$port/metrics" |
  grep -E '^(controller_runtime_reconcile_total|controller_runtime_reconcile_errors_total|rest_client_requests_total|workqueue_retries_total)' |
  sed 's/^/  /'
