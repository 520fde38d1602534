# scripts/lib/oidc.sh — a token from the example's identity provider (Ory Hydra,
# examples/orders/identity.yaml), for scripts/demo and the e2e tests.
#
#   oidc_token NAMESPACE CLIENT_ID SCOPE    print an access token (audience orders-api)
#
# Reaches Hydra's public and admin ports through one kubectl port-forward,
# registers CLIENT_ID as a client-credentials client (again on a re-run: a
# 409 is fine), asks for a token and prints it; nothing when that fails.
oidc_token() {
  local ns=$1 id=$2 scope=$3 log pf pub adm i tok secret=$2-secret-0123456789
  log=$(mktemp)
  kubectl -n "$ns" port-forward svc/hydra 0:4444 0:4445 >"$log" 2>&1 &
  pf=$!
  for i in $(seq 150); do
    [ "$(grep -c 'Forwarding from 127.0.0.1' "$log")" -ge 2 ] && break
    sleep 0.1
  done
  pub=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\) -> 4444.*/\1/p' "$log" | head -1)
  adm=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\) -> 4445.*/\1/p' "$log" | head -1)
  if [ -n "$pub" ] && [ -n "$adm" ]; then
    curl -sS -o /dev/null --max-time 10 -X POST "http://127.0.0.1:$adm/admin/clients" \
      -H 'Content-Type: application/json' \
      -d "{\"client_id\":\"$id\",\"client_secret\":\"$secret\",\"grant_types\":[\"client_credentials\"],\"scope\":\"$scope\",\"audience\":[\"orders-api\"],\"token_endpoint_auth_method\":\"client_secret_basic\",\"access_token_strategy\":\"jwt\"}" || true
    tok=$(curl -sS --max-time 10 -u "$id:$secret" -d grant_type=client_credentials --data-urlencode "scope=$scope" \
      -d audience=orders-api "http://127.0.0.1:$pub/oauth2/token" |
      python3 -c 'import json,sys; print(json.load(sys.stdin).get("access_token", ""))' 2>/dev/null) || tok=
  fi
  kill "$pf" 2>/dev/null || true
  wait "$pf" 2>/dev/null || true
  rm -f "$log"
  printf '%s' "$tok"
}
