-- list.lua — wrk: POST a Relay list query (equality filter on an indexed field,
-- orderBy, first 20) for a random customer (BENCH_CUSTOMERS of them).
local c = tonumber(os.getenv("BENCH_CUSTOMERS") or "100")
local headers = {["Content-Type"] = "application/json", ["Accept"] = "application/graphql-response+json"}
math.randomseed(os.time() + 1)
request = function()
  local cust = string.format("c%03d", math.random(0, c - 1))
  local body = '{"query":"query($c: String) { orders(first: 20, filter: {customer: {eq: $c}}, orderBy: [{field: TOTAL, direction: DESC}]) { edges { cursor node { id customer total } } pageInfo { hasNextPage endCursor } } }","variables":{"c":"' .. cust .. '"}}'
  return wrk.format("POST", "/graphql", headers, body)
end
