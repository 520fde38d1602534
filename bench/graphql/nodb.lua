-- nodb.lua — wrk: a query answered without the cache (introspection of one
-- type): the GraphQL-over-HTTP and execution overhead of each server alone.
local headers = {["Content-Type"] = "application/json", ["Accept"] = "application/graphql-response+json"}
local body = '{"query":"{ __type(name: \\"Order\\") { name fields { name type { name kind ofType { name } } } } }"}'
request = function()
  return wrk.format("POST", "/graphql", headers, body)
end
