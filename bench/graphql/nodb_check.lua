-- nodb_check.lua — wrk: nodb.lua's query, every answer checked (issue 17's
-- "Done when"): each thread takes its first answer as the reference (it must
-- be a 200 naming type Order) and counts every later answer that differs;
-- done() prints the totals and "answers: all correct" or the mismatches.
local headers = {["Content-Type"] = "application/json", ["Accept"] = "application/graphql-response+json"}
local body = '{"query":"{ __type(name: \\"Order\\") { name fields { name type { name kind ofType { name } } } } }"}'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  reference, checked, wrong, bad_first = nil, 0, 0, 0
end

request = function()
  return wrk.format("POST", "/graphql", headers, body)
end

response = function(status, hdrs, resp)
  if reference == nil then
    if status == 200 and string.find(resp, '"name":"Order"', 1, true) then
      reference = resp
    else
      bad_first = bad_first + 1
    end
  elseif resp ~= reference or status ~= 200 then
    wrong = wrong + 1
  end
  checked = checked + 1
end

done = function(summary, latency, requests)
  local c, w, b, refs = 0, 0, 0, {}
  for _, t in ipairs(threads) do
    c, w, b = c + t:get("checked"), w + t:get("wrong"), b + t:get("bad_first")
    table.insert(refs, t:get("reference") or "")
  end
  for i = 2, #refs do
    if refs[i] ~= refs[1] then w = w + 1 end
  end
  io.write(string.format("answers checked: %d, wrong: %d, bad first answers: %d\n", c, w, b))
  if w == 0 and b == 0 and c > 0 then io.write("answers: all correct\n") end
end
