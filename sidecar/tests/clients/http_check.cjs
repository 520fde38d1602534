// http_check.cjs — a plain HTTP client against /graphql: status codes
// (400/405/406/413/415), response media types, limits, and mutations through
// the command API with every error code a client can cause.
'use strict';
const { URL, check, eq, gql, run } = require('./lib.cjs');

async function raw(method, { query = '', body, ctype = 'application/json', accept = 'application/graphql-response+json', headers = {} } = {}) {
  const h = { ...headers };
  if (ctype) h['content-type'] = ctype;
  if (accept) h.accept = accept;
  const r = await fetch(URL + query, { method, headers: h, body });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  return { status: r.status, type: r.headers.get('content-type'), allow: r.headers.get('allow'), json, text };
}

function code(r) {
  const e = r.body && r.body.errors && r.body.errors[0];
  return e && e.extensions && e.extensions.code;
}

run('http_check', async () => {
  const q = JSON.stringify({ query: '{ __typename }' });
  // Media types.
  let r = await raw('POST', { body: q });
  eq([r.status, r.type], [200, 'application/graphql-response+json; charset=utf-8'], 'Accept graphql-response+json');
  r = await raw('POST', { body: q, accept: 'application/json' });
  eq([r.status, r.type], [200, 'application/json; charset=utf-8'], 'Accept application/json');
  r = await raw('POST', { body: q, accept: null });
  eq([r.status, r.type], [200, 'application/json; charset=utf-8'], 'no Accept means application/json');
  eq(r.json, { data: { __typename: 'Query' } }, 'POST body');
  r = await raw('GET', { query: '?query=' + encodeURIComponent('{ __typename }'), ctype: null });
  eq([r.status, r.json], [200, { data: { __typename: 'Query' } }], 'GET query');
  // 406, 415, 400, 405, 413.
  r = await raw('POST', { body: q, accept: 'text/html' });
  eq(r.status, 406, 'Accept text/html is 406');
  r = await raw('POST', { body: q, ctype: 'text/plain' });
  eq(r.status, 415, 'Content-Type text/plain is 415');
  r = await raw('POST', { body: q, ctype: 'application/json; charset=latin1' });
  eq(r.status, 415, 'a non-UTF-8 charset is 415');
  r = await raw('POST', { body: '{"query": ' });
  eq(r.status, 400, 'malformed JSON is 400');
  r = await raw('POST', { body: '{"variables": {}}' });
  eq(r.status, 400, 'missing query is 400');
  r = await raw('POST', { body: JSON.stringify({ query: '{ __typename' }) });
  eq([r.status, r.json && r.json.errors[0].extensions.code], [400, 'GRAPHQL_PARSE_FAILED'], 'parse error with graphql-response+json is 400');
  r = await raw('POST', { body: JSON.stringify({ query: '{ __typename' }), accept: 'application/json' });
  eq(r.status, 200, 'parse error with application/json is 200');
  r = await raw('GET', { query: '?query=' + encodeURIComponent('mutation { deleteOrder(id: "x") { id } }'), ctype: null });
  eq([r.status, r.allow], [405, 'POST'], 'mutation over GET is 405, Allow: POST');
  r = await raw('PUT', { body: q });
  eq(r.status, 405, 'PUT is 405');
  r = await raw('POST', { body: JSON.stringify({ query: '{ __typename }', pad: 'x'.repeat(70000) }) });
  eq(r.status, 413, 'a body over --graphql-max-body-bytes (64 KiB here) is 413');
  r = await raw('POST', { body: 'x'.repeat(1100000) });
  eq(r.status, 413, 'a body over the server\'s 1 MiB is 413');

  // Limits.
  let deep = 'id';
  for (let i = 0; i < 22; i++) deep = `lines { ${deep} }`;
  let g = await gql(`{ order(id: "x") { ${deep} } }`);
  eq(code(g), 'DEPTH_LIMIT_EXCEEDED', '--graphql-max-depth 20 is enforced');
  g = await gql('{ ' + Array.from({ length: 250 }, (_, i) => `a${i}: __typename`).join(' ') + ' }');
  eq(code(g), 'QUERY_TOO_COMPLEX', 'too many aliases');

  // Mutations: results and errors.
  const id = `h${Date.now() % 1000000}`;
  g = await gql(`mutation { createOrder(input: {id: "${id}", customer: "ann", status: OPEN, total: 3.5}) { id version sequence events { sequence type model id version data } } }`);
  const created = g.body.data && g.body.data.createOrder;
  check(created && created.id === id && created.version === 1 && /^[0-9]+$/.test(created.sequence), 'createOrder returns id, version 1 and the sequence', g.body);
  check(created && created.events.length === 1 && created.events[0].type === 'OrderCreated' && created.events[0].sequence === created.sequence && created.events[0].data.customer === 'ann', 'the result carries the event', g.body);
  g = await gql(`mutation { createOrder(input: {id: "${id}", customer: "bob"}) { id } }`);
  eq(code(g), 'CONFLICT', 'create of an existing id is CONFLICT');
  g = await gql('mutation { updateOrder(id: "nobody", input: {customer: "x"}) { id } }');
  eq(code(g), 'NOT_FOUND', 'update of a missing id is NOT_FOUND');
  g = await gql('mutation { updateOrder(id: "bad.id", input: {customer: "x"}) { id } }');
  eq(code(g), 'BAD_USER_INPUT', 'an invalid id is BAD_USER_INPUT');
  g = await gql('mutation($t: DateTime) { createOrder(input: {customer: "x", placedAt: $t}) { id } }', { t: 'yesterday' });
  eq(code(g), 'BAD_USER_INPUT', 'an invalid DateTime variable is BAD_USER_INPUT');
  g = await gql('mutation { createOrder(input: {customer: "x", placedAt: "yesterday"}) { id } }');
  eq(code(g), 'GRAPHQL_VALIDATION_FAILED', 'an invalid DateTime literal fails validation');
  g = await gql('mutation { createOrder(input: {customer: "x", reject: "no stock"}) { id } }');
  check(code(g) === 'REJECTED' && g.body.errors[0].extensions.appCode === 'REJECTED_BY_APP' && g.body.errors[0].message === 'no stock', 'an app rejection is REJECTED with appCode and its message', g.body);
  g = await gql('mutation { createOrder(input: {customer: "x", garbage: true}) { id } }');
  eq(code(g), 'APP_ERROR', 'an app answering garbage is APP_ERROR');
  g = await gql('mutation { createOrder(input: {customer: "x", slow: 2.5}) { id } }');
  eq(code(g), 'APP_TIMEOUT', 'an app slower than --app-timeout-ms is APP_TIMEOUT');
  g = await gql(`mutation { shipOrder(id: "${id}", input: {carrier: "ups"}) { id version events { type data } } }`);
  check(g.body.data && g.body.data.shipOrder.version === 2 && g.body.data.shipOrder.events[0].type === 'OrderShipped', 'a custom command runs through the app', g.body);
  g = await gql(`mutation { u: updateOrder(id: "${id}", input: {total: 4}) { version } d: deleteOrder(id: "${id}") { version events { type } } }`);
  eq(g.body.data, { u: { version: 3 }, d: { version: 4, events: [{ type: 'OrderDeleted' }] } }, 'mutation fields run serially');

  // Idempotency-Key: the same request re-sent is answered with the original result.
  const key = `k-${Date.now()}`;
  const m = `mutation { createOrder(input: {customer: "idem"}) { id version sequence } }`;
  const a = await gql(m, null, { 'idempotency-key': key });
  const b = await gql(m, null, { 'idempotency-key': key });
  check(a.body.data && b.body.data && a.body.data.createOrder.id === b.body.data.createOrder.id && a.body.data.createOrder.sequence === b.body.data.createOrder.sequence, 'Idempotency-Key: a re-sent create is the same command', [a.body, b.body]);
  const c = await gql(m);
  check(c.body.data && c.body.data.createOrder.id !== a.body.data.createOrder.id, 'without a key, a new command');
  const long = await gql(m, null, { 'idempotency-key': 'k'.repeat(127) });
  eq(code(long), 'BAD_USER_INPUT', 'an over-long Idempotency-Key is BAD_USER_INPUT');

  // Metrics.
  const metrics = await (await fetch(process.env.METRICS_URL)).text();
  check(/byron_sidecar_graphql_http_requests_total\{status="200"\} [1-9]/.test(metrics), 'requests are counted by status', metrics.slice(0, 400));
  check(/byron_sidecar_graphql_http_requests_total\{status="415"\} [1-9]/.test(metrics), '415s are counted');
  check(metrics.includes('byron_sidecar_graphql_ws_connections'), 'the ws connection gauge is exported');
});
