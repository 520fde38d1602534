#!/usr/bin/env bash
# parallel.sh — does the sidecar execute GraphQL requests in parallel? One api
# sidecar with the Python reference app; wrk -t2 -c16 sends mutations whose
# before hook sleeps SLOW seconds (slow_hook.lua) for SECONDS, once per
# --workers value. A request holds a worker for SLOW s without using a CPU,
# so the ceiling is workers / SLOW req/s whatever the machine's load: an
# engine serialised by a lock would stay at 1 / SLOW.
#
#   BYRON_TESTENV=/tmp/tenv/env bench/graphql/parallel.sh BUILD_DIR [SECONDS] [WORKERS...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: parallel.sh BUILD_DIR [SECONDS] [WORKERS...]}
secs=${2:-10}
shift $(($# > 1 ? 2 : 1))
[ $# -gt 0 ] || set -- 1 8
: "${BYRON_TESTENV:?set BYRON_TESTENV (scripts/testenv start DIR writes DIR/env)}"
# shellcheck disable=SC1090
. "$BYRON_TESTENV"
export SLOW=${SLOW:-0.1}
for w in "$@"; do
  work=$(mktemp -d /tmp/byron-par-XXXXXX)
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["component"]="par"+sys.argv[2]; json.dump(c, open(sys.argv[3],"w"))' \
    "$root/sidecar/tests/data/orders.json" "$(basename "$work" | tr -dc 'a-z0-9')" "$work/component.json"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  BYRON_APP_SOCKET=$work/app.sock BYRON_SIDECAR_SOCKET=$work/sidecar.sock \
    python3 "$root/examples/reference-app/python/app.py" >"$work/app.log" 2>&1 &
  app=$!
  "$build/sidecar/byron-sidecar" --mode=api --config "$work/component.json" --nats-url "$BYRON_NATS_URL" \
    --mongo-uri "$BYRON_MONGO_URI" --http-port "$port" --bind 127.0.0.1 --sidecar-socket "$work/sidecar.sock" \
    --app-socket "$work/app.sock" --workers "$w" --log-level warn >"$work/sidecar.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  echo "== --workers $w, hook sleeps ${SLOW} s (ceiling $(awk -v w="$w" -v s="$SLOW" 'BEGIN{printf "%.0f", w/s}') req/s)"
  wrk -t2 -c16 -d"${secs}s" --timeout 10s -s "$here/slow_hook.lua" "http://127.0.0.1:$port" |
    grep -E "Requests/sec|Latency|Non-2xx|Socket errors"
  kill -TERM "$pid" "$app" 2>/dev/null || true
  wait "$pid" "$app" 2>/dev/null || true
done
