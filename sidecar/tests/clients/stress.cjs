// stress.cjs — every public surface of one api sidecar at once (issue 17):
// STRESS_CONNECTIONS (default 16) HTTP connections, each sending every kind of
// GraphQL operation — the full introspection query GraphiQL sends and the one
// graphql-js sends by default, by-id queries with variables, filtered lists,
// mutations, validation / parse / variable errors, batched and multi-operation
// documents — plus REST commands and cache reads (over TCP and the sidecar's
// Unix socket), GraphQL over GET, the SDL, probes and metrics, while STRESS_WS clients open
// graphql-transport-ws subscriptions, receive the events of their own
// aggregates and close them again, and model-wide subscriptions come and go
// while events flow. Bounded: STRESS_ROUNDS rounds per connection (default 6),
// loopback only, a deadline on every wait. STRESS_BURST (default 60) queries
// answered without the cache per round and connection.
//
// Every answer is checked, not just its status: introspection equals the
// answer given before the load (and builds a graphql-js client schema), reads
// equal the documents seeded into the cache, mutations return the versions
// their aggregate must have (each connection owns its aggregates), and each
// subscription receives exactly its aggregate's events, in order. The wrapper
// (graphql_clients_it.py) then stops the sidecar: exit 0, no sanitizer report.
'use strict';
const http = require('node:http');
const { getIntrospectionQuery, buildClientSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');
const { URL: GQL_URL, check, collect, eq, seed, run } = require('./lib.cjs');

const CONNS = Number(process.env.STRESS_CONNECTIONS || 16);
const ROUNDS = Number(process.env.STRESS_ROUNDS || 6);
const WS_CLIENTS = Number(process.env.STRESS_WS || 4);
// Per round and connection: a burst of queries answered without the cache (the
// load that aborted the sidecar in issue 17), every tenth a full introspection.
const BURST = Number(process.env.STRESS_BURST || 60);
const RUN = `${Date.now() % 100000}`;
const base = new URL(GQL_URL);
const WS_URL = GQL_URL.replace(/^http/, 'ws');

// One keep-alive socket per worker: CONNS workers hold CONNS connections.
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS, maxFreeSockets: CONNS });
const sockets = new Set();
let requests = 0;

// The sidecar's admin port (METRICS_URL names it): probes and metrics.
async function adminGet(path) {
  const r = await fetch(new URL(path, process.env.METRICS_URL));
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  return { status: r.status, text, json };
}

// socketPath: the sidecar's Unix socket (the app's side) instead of TCP.
function request(method, path, body, headers = {}, socketPath = undefined) {
  return new Promise((resolve) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request({
      ...(socketPath ? { socketPath } : { host: base.hostname, port: base.port, agent }), path, method, timeout: 60000,
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json',
        ...(data !== undefined ? { 'content-length': Buffer.byteLength(data) } : {}), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        requests++;
        let json = null;
        try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on('socket', (s) => sockets.add(s));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, json: null, text: String(e) }));
    if (data !== undefined) req.write(data);
    req.end();
  });
}

const gql = (query, variables, operationName) =>
  request('POST', base.pathname, { query, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) });
const code = (r) => r.json && r.json.errors && r.json.errors[0] && r.json.errors[0].extensions && r.json.errors[0].extensions.code;

// The cache as the sink would have written it; nothing projects during the
// test (no sink runs), so every read has one right answer.
const ORDERS = [];
for (let i = 0; i < 30; i++) {
  ORDERS.push({ _id: `s${String(i).padStart(2, '0')}`, version: 1 + (i % 4), customer: `c${i % 5}`,
    status: ['OPEN', 'SHIPPED', 'CANCELLED'][i % 3], total: i * 2.5, lines: i % 2 ? ['l1', 'l2'] : ['l3'] });
}
const LINES = [{ _id: 'l1', version: 1, sku: 'A', qty: 1 }, { _id: 'l2', version: 1, sku: 'B', qty: 2 }, { _id: 'l3', version: 3, sku: 'C', qty: 3 }];
const lineOf = (id) => { const l = LINES.find((x) => x._id === id); return { id, sku: l.sku, qty: l.qty }; };
const orderView = (d) => ({ id: d._id, version: d.version, customer: d.customer, status: d.status, total: d.total, lines: d.lines.map(lineOf) });

const GRAPHIQL_INTROSPECTION = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
const DEFAULT_INTROSPECTION = getIntrospectionQuery(); // args/inputFields without arguments: the schema's defaults
const TYPE_QUERY = '{ __type(name: "Order") { name fields { name type { name kind ofType { name } } } } }';
const BY_ID = 'query Order($id: ID!) { order(id: $id) { id version customer status total lines { id sku qty } } }';
const LIST = 'query List($c: String!) { orders(filter: {customer: {eq: $c}}, orderBy: [{field: CUSTOMER}], first: 100) { edges { node { id customer } } pageInfo { hasNextPage } } }';
const TWO_OPS = 'query A { __typename } query B { order(id: "s01") { id } }';

const reference = {};

// One connection's round: every kind of operation, each answer checked.
async function round(w, r) {
  const tag = `w${w} r${r}`;
  let x = await gql(GRAPHIQL_INTROSPECTION, null, 'IntrospectionQuery');
  check(x.status === 200 && x.text === reference.graphiql, `${tag}: GraphiQL's introspection query answers as before the load`, x.text.slice(0, 200));
  x = await gql(DEFAULT_INTROSPECTION);
  check(x.status === 200 && x.text === reference.defaults, `${tag}: graphql-js's default introspection query (schema defaults) answers as before the load`, x.text.slice(0, 200));
  let same = 0;
  for (let i = 0; i < BURST; i++) {
    x = i % 10 === 9 ? await gql(DEFAULT_INTROSPECTION) : await gql(TYPE_QUERY);
    same += x.status === 200 && x.text === (i % 10 === 9 ? reference.defaults : reference.typeText);
  }
  eq(same, BURST, `${tag}: a burst of __type(name: "Order") and introspection queries, each answered as before the load`);

  const d = ORDERS[(w * 7 + r) % ORDERS.length];
  x = await gql(BY_ID, { id: d._id }, 'Order');
  eq(x.json && x.json.data, { order: orderView(d) }, `${tag}: order(id: $id) is the cached document with its references`);
  const cust = `c${(w + r) % 5}`;
  x = await gql(LIST, { c: cust });
  eq(x.json && x.json.data && x.json.data.orders.edges.map((e) => e.node.id),
    ORDERS.filter((o) => o.customer === cust).map((o) => o._id).sort(), `${tag}: orders(filter: customer eq $c)`);

  // Mutations: this connection's own aggregate, one version per round.
  const gid = `g${RUN}w${w}`;
  x = r === 0
    ? await gql('mutation C($id: ID!) { createOrder(input: {id: $id, customer: "stress", status: OPEN}) { id version events { type } } }', { id: gid })
    : await gql('mutation U($id: ID!, $t: Float) { updateOrder(id: $id, input: {total: $t}) { id version events { type } } }', { id: gid, t: r });
  const m = x.json && x.json.data && (x.json.data.createOrder || x.json.data.updateOrder);
  eq(m, { id: gid, version: r + 1, events: [{ type: r === 0 ? 'OrderCreated' : 'OrderUpdated' }] }, `${tag}: mutation on its own aggregate`);
  x = await gql('mutation { createOrder(input: {id: "s01", customer: "again"}) { id } }');
  // s01 exists in the cache only, not in the stream: a create of it succeeds once per run, then conflicts.
  check(x.status === 200 && (x.json.data && x.json.data.createOrder ? x.json.data.createOrder.id === 's01' : code(x) === 'CONFLICT'),
    `${tag}: create of a shared id is created once, CONFLICT after`, x.text.slice(0, 200));

  // Errors the client causes.
  x = await gql('{ order(id: "s01") { id nope } }');
  eq([x.status, code(x)], [400, 'GRAPHQL_VALIDATION_FAILED'], `${tag}: unknown field → 400 validation`);
  x = await gql('{ order(id: "s01") { id ');
  eq([x.status, code(x)], [400, 'GRAPHQL_PARSE_FAILED'], `${tag}: truncated document → 400 parse`);
  x = await gql(BY_ID, { id: 42.5 }, 'Order');
  eq([x.status, code(x)], [400, 'BAD_USER_INPUT'], `${tag}: a variable of the wrong type → BAD_USER_INPUT`);
  x = await gql('{ order(id: "bad.id") { id } }');
  check(x.status === 200 && x.json.data.order === null && code(x) === 'BAD_USER_INPUT', `${tag}: an invalid id is a field error`, x.text.slice(0, 200));
  x = await request('POST', base.pathname, [{ query: '{ __typename }' }, { query: '{ __typename }' }]);
  check(x.status === 400 && x.json && Array.isArray(x.json.errors), `${tag}: a batched (array) body is refused with 400`, x.text.slice(0, 200));
  x = await request('POST', base.pathname, '{"query": "{ __typename }"');
  eq(x.status, 400, `${tag}: malformed JSON → 400`);
  x = await gql(TWO_OPS, null, 'B');
  eq(x.json && x.json.data, { order: { id: 's01' } }, `${tag}: operationName picks one of two operations`);
  x = await gql(TWO_OPS);
  check(x.status >= 400 && code(x) === 'OPERATION_RESOLUTION_FAILURE', `${tag}: two operations without operationName`, x.text.slice(0, 200));

  // REST: commands and cache reads.
  const rid = `r${RUN}w${w}`;
  x = await request('POST', `/v1/commands/${r === 0 ? 'createOrder' : 'updateOrder'}`, { id: rid, input: r === 0 ? { customer: 'rest' } : { count: r } });
  check(x.status === 200 && x.json && x.json.id === rid && x.json.version === r + 1 && x.json.events.length === 1,
    `${tag}: POST /v1/commands on its own aggregate`, x.text.slice(0, 200));
  x = await request('POST', '/v1/commands/updateOrder', { id: `nobody${RUN}`, input: { count: 1 } });
  eq([x.status, x.json && x.json.error.code], [404, 'NOT_FOUND'], `${tag}: command on a missing aggregate → 404`);
  x = await request('POST', '/v1/cache/Order/query', { filter: { customer: cust }, first: 100 });
  eq(x.json && x.json.items && x.json.items.map((o) => o.id).sort(), ORDERS.filter((o) => o.customer === cust).map((o) => o._id).sort(),
    `${tag}: POST /v1/cache/Order/query`);
  x = await request('GET', `/v1/cache/Order/${d._id}`);
  check(x.status === 200 && x.json && x.json.id === d._id && x.json.customer === d.customer && x.json.version === d.version,
    `${tag}: GET /v1/cache/Order/<id>`, x.text.slice(0, 200));
  x = await request('GET', '/v1/cache/Order/absent');
  eq([x.status, x.json && x.json.error.code], [404, 'NOT_FOUND'], `${tag}: GET of an absent document → 404`);
  if (process.env.SIDECAR_SOCKET) {
    x = await request('GET', `/v1/cache/Order/${d._id}`, undefined, {}, process.env.SIDECAR_SOCKET);
    check(x.status === 200 && x.json && x.json.id === d._id && x.json.version === d.version,
      `${tag}: GET /v1/cache/Order/<id> over the sidecar's Unix socket`, x.text.slice(0, 200));
  }

  // The rest of the surface: GraphQL over GET, the SDL, probes, metadata, metrics.
  x = await request('GET', `${base.pathname}?query=${encodeURIComponent(TYPE_QUERY)}`);
  check(x.status === 200 && x.text === reference.typeText, `${tag}: GET /graphql?query=`, x.text.slice(0, 200));
  x = await request('GET', `${base.pathname}/schema.graphql`);
  check(x.status === 200 && x.text === reference.sdl, `${tag}: GET /graphql/schema.graphql`, x.text.slice(0, 200));
  x = await request('GET', '/v1/meta');
  check(x.status === 200 && x.json && x.json.mode === 'api' && x.json.models.length === 2, `${tag}: GET /v1/meta`, x.text.slice(0, 200));
  x = await adminGet('/readyz'); // probes and metrics: the admin port (docs/security.md)
  check(x.status === 200 && x.json && x.json.ready === true, `${tag}: GET /readyz`, x.text.slice(0, 200));
  x = await adminGet('/healthz');
  eq(x.status, 200, `${tag}: GET /healthz`);
  x = await adminGet('/metrics');
  check(x.status === 200 && x.text.includes('byron_sidecar_graphql_http_requests_total{status="200"}'), `${tag}: GET /metrics`);
}

// A WebSocket client's round: its own aggregate's events, exactly and in
// order; a model-wide subscription opened and closed while events flow.
async function wsRound(c, r) {
  const tag = `ws${c} r${r}`;
  const client = createClient({ url: WS_URL, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  const id = `v${RUN}c${c}r${r}`;
  const own = collect(client, { query: 'subscription($id: ID) { orderEvents(id: $id) { type id version } }', variables: { id } }, 3, 60000);
  const wide = collect(client, { query: 'subscription { orderEvents { id } }' }, 1 + (r % 3), 60000);
  // One connection's messages are handled in order: once this answers, both subscriptions are running.
  const q = await collect(client, { query: TYPE_QUERY }, 1, 60000);
  check(q.got.length === 1 && JSON.stringify(q.got[0]) === reference.type, `${tag}: a query over the socket`, q);
  let x = await gql('mutation($id: ID!) { createOrder(input: {id: $id, customer: "ws"}) { version } }', { id });
  x = await gql('mutation($id: ID!) { updateOrder(id: $id, input: {count: 2}) { version } }', { id });
  x = await gql('mutation($id: ID!) { deleteOrder(id: $id) { version } }', { id });
  eq(x.json && x.json.data, { deleteOrder: { version: 3 } }, `${tag}: mutations of the subscribed aggregate`);
  const o = await own;
  check(!o.error, `${tag}: own subscription delivered`, o.error);
  eq(o.got.map((v) => [v.data.orderEvents.type, v.data.orderEvents.id, v.data.orderEvents.version]),
    [['OrderCreated', id, 1], ['OrderUpdated', id, 2], ['OrderDeleted', id, 3]], `${tag}: exactly its aggregate's events, in order`);
  const wres = await wide;
  check(!wres.error && wres.got.every((v) => v.data && v.data.orderEvents.id), `${tag}: a model-wide subscription closed after ${1 + (r % 3)} events`, wres.error);
  await client.dispose();
}

run('stress', async () => {
  await seed({ Order: ORDERS, OrderLine: LINES });
  // The answers before any load: what every answer under load must equal.
  let x = await gql(GRAPHIQL_INTROSPECTION, null, 'IntrospectionQuery');
  check(x.status === 200 && !x.json.errors, 'introspection before the load', x.text.slice(0, 300));
  reference.graphiql = x.text;
  buildClientSchema(x.json.data); // throws (fails the run) if the introspection is not a schema
  x = await gql(DEFAULT_INTROSPECTION);
  check(x.status === 200 && !x.json.errors, 'default introspection before the load');
  reference.defaults = x.text;
  x = await gql(TYPE_QUERY);
  check(x.status === 200 && x.json.data.__type.fields.length > 5, '__type before the load');
  reference.typeText = x.text;
  reference.type = JSON.stringify(x.json);
  x = await request('GET', `${base.pathname}/schema.graphql`);
  check(x.status === 200 && x.text.includes('type Order'), 'the SDL before the load');
  reference.sdl = x.text;

  const started = Date.now();
  const http = Array.from({ length: CONNS }, async (_, w) => { for (let r = 0; r < ROUNDS; r++) await round(w, r); });
  const ws = Array.from({ length: WS_CLIENTS }, async (_, c) => { for (let r = 0; r < ROUNDS; r++) await wsRound(c, r); });
  await Promise.all([...http, ...ws]);
  check(sockets.size >= CONNS, `at least ${CONNS} HTTP connections were used`, sockets.size);
  console.log(`stress: ${requests} HTTP requests on ${sockets.size} connections and ${WS_CLIENTS * ROUNDS} WebSocket sessions in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  agent.destroy();
});
