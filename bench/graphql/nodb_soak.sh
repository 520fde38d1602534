#!/usr/bin/env bash
# nodb_soak.sh — issue 17's "Done when": one api sidecar (default 8 workers),
# wrk -t2 -c8 with nodb.lua's query RUNS times for SECONDS each, every answer
# checked (nodb_check.lua); the sidecar must be alive after every run and exit
# 0 on SIGTERM. Prints wrk's summary and the sidecar's CPU use (cores busy:
# user+system seconds per second) per run; exits non-zero on any failure.
#
#   BYRON_TESTENV=/tmp/tenv/env [WORKERS=8] bench/graphql/nodb_soak.sh BUILD_DIR [RUNS] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: nodb_soak.sh BUILD_DIR [RUNS] [SECONDS]}
runs=${2:-3}
secs=${3:-60}
: "${BYRON_TESTENV:?set BYRON_TESTENV (scripts/testenv start DIR writes DIR/env)}"
# shellcheck disable=SC1090
. "$BYRON_TESTENV"
work=$(mktemp -d /tmp/byron-soak-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/sidecar/byron-sidecar" --mode=api --config "$root/sidecar/tests/data/orders.json" \
  --nats-url "$BYRON_NATS_URL" --mongo-uri "$BYRON_MONGO_URI" --http-port "$port" --bind 127.0.0.1 \
  --sidecar-socket "" --workers "${WORKERS:-8}" >"$work/sidecar.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# user+system CPU ticks of the sidecar (fields 14 and 15 of /proc/PID/stat)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
status=0
for run in $(seq "$runs"); do
  t0=$(ticks)
  out=$(wrk -t2 -c8 -d"${secs}s" --timeout 10s -s "$here/nodb_check.lua" "http://127.0.0.1:$port")
  t1=$(ticks 2>/dev/null || echo "$t0")
  echo "== run $run (--workers ${WORKERS:-8})"
  echo "$out" | grep -E "requests in|Requests/sec|Non-2xx|Socket errors|answers"
  awk -v d="$((t1 - t0))" -v hz="$hz" -v s="$secs" 'BEGIN { printf "sidecar CPU: %.2f cores busy\n", d / hz / s }'
  echo "$out" | grep -q "answers: all correct" || { echo "run $run: wrong answers"; status=1; }
  kill -0 "$pid" 2>/dev/null || { echo "run $run: the sidecar died"; status=1; break; }
done
kill -TERM "$pid" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
echo "sidecar exit status: $rc (log: $work/sidecar.log)"
[ "$rc" = 0 ] || status=1
exit $status
