-- slow_hook.lua — wrk: a createOrder whose before hook (the reference app's
-- "slow") sleeps SLOW seconds (default 0.1) before answering: each request
-- holds a worker that long without using a CPU, so throughput shows how many
-- requests the sidecar executes at once (bench/graphql/parallel.sh).
local slow = os.getenv("SLOW") or "0.1"
local headers = {["Content-Type"] = "application/json", ["Accept"] = "application/graphql-response+json"}
local body = '{"query":"mutation { createOrder(input: {customer: \\"p\\", slow: ' .. slow .. '}) { id version } }"}'
request = function()
  return wrk.format("POST", "/graphql", headers, body)
end
