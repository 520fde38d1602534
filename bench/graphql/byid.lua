-- byid.lua — wrk: POST a by-id query for a random one of BENCH_N seeded orders.
local n = tonumber(os.getenv("BENCH_N") or "10000")
local headers = {["Content-Type"] = "application/json", ["Accept"] = "application/graphql-response+json"}
math.randomseed(os.time())
request = function()
  local id = string.format("o%06d", math.random(0, n - 1))
  local body = '{"query":"query($id: ID!) { order(id: $id) { id version customer status total count lines { sku qty } } }","variables":{"id":"' .. id .. '"}}'
  return wrk.format("POST", "/graphql", headers, body)
end
