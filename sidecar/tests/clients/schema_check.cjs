// schema_check.cjs — graphql-js as a client of our endpoint: the client schema
// built from our introspection equals our SDL (GET /graphql/schema.graphql),
// graphql-js validates client documents against it the way we do, and queries
// on seeded cache documents return what the cache holds (by id, references,
// Relay connections: filters, orderBy, forward and backward pages).
'use strict';
const { getIntrospectionQuery, buildClientSchema, buildSchema, printSchema, parse, validate } = require('graphql');
const { URL, check, eq, gql, seed, run } = require('./lib.cjs');

const N = 25;
function orders() {
  const docs = [];
  for (let i = 0; i < N; i++) {
    const id = `o${String(i).padStart(2, '0')}`;
    const d = { _id: id, version: 1 + (i % 3), customer: `c${i % 4}`, status: i % 2 ? 'OPEN' : 'SHIPPED', total: i * 1.5, count: i, lines: ['l1', 'l2'] };
    if (i % 5 === 0) delete d.customer; // missing sort values sort first
    if (i === 7) d.lines = ['l2', 'gone', 'l1']; // a dangling reference is left out
    docs.push(d);
  }
  return docs;
}

async function pages(args, first, dir) {
  // Walks a whole connection with first/after (or last/before); returns the ids.
  const ids = [];
  let cursor = null, guard = 0;
  for (;;) {
    const paging = dir === 'fwd' ? `first: ${first}${cursor ? `, after: "${cursor}"` : ''}` : `last: ${first}${cursor ? `, before: "${cursor}"` : ''}`;
    const r = await gql(`{ orders(${args}${args ? ', ' : ''}${paging}) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`);
    if (!check(r.status === 200 && r.body.data, `page ${paging}`, r.body)) return ids;
    const c = r.body.data.orders;
    const got = c.edges.map((e) => e.node.id);
    if (dir === 'fwd') ids.push(...got); else ids.unshift(...got);
    const more = dir === 'fwd' ? c.pageInfo.hasNextPage : c.pageInfo.hasPreviousPage;
    if (got.length) check(c.pageInfo.startCursor === c.edges[0].cursor && c.pageInfo.endCursor === c.edges[c.edges.length - 1].cursor, 'start/endCursor are the edges\' cursors');
    if (!more || ++guard > 50) break;
    cursor = dir === 'fwd' ? c.pageInfo.endCursor : c.pageInfo.startCursor;
  }
  return ids;
}

run('schema_check', async () => {
  // 1. Introspection → client schema == SDL.
  const intro = await gql(getIntrospectionQuery({ specifiedByUrl: true, directiveIsRepeatable: true }));
  check(intro.status === 200 && !intro.body.errors, 'introspection answers without errors', intro.body.errors);
  const client = buildClientSchema(intro.body.data);
  const sdlResp = await fetch(URL + '/schema.graphql');
  check(sdlResp.status === 200, 'GET /graphql/schema.graphql is 200');
  check((sdlResp.headers.get('content-type') || '').startsWith('application/graphql'), 'SDL media type', sdlResp.headers.get('content-type'));
  const sdl = await sdlResp.text();
  const fromSdl = buildSchema(sdl);
  check(printSchema(client) === printSchema(fromSdl), 'printSchema(buildClientSchema(introspection)) equals printSchema(buildSchema(our SDL))');
  check(Object.keys(client.getTypeMap()).length > 30, 'client schema has the generated types');

  // 2. graphql-js and our validator agree on client documents.
  const docs = [
    ['{ order(id: "o01") { id version customer status lines { sku qty } } }', true],
    ['query($f: OrderFilter, $o: [OrderOrderBy!]) { orders(filter: $f, orderBy: $o, first: 10) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }', true],
    ['mutation { createOrder(input: {customer: "c", lines: ["l1"]}) { id version sequence events { type data } } }', true],
    ['mutation { shipOrder(id: "1", input: {carrier: "ups"}) { id } }', true],
    ['subscription { orderEvents(id: "1", fromSequence: "5") { sequence type id data } }', true],
    ['{ order(id: "o01") { nope } }', false],
    ['{ order { id } }', false],
    ['{ orders { edges { node } } }', false],
    ['query($x: Int) { order(id: $x) { id } }', false],
    ['{ orders(filter: { status: { eq: OPEN } }) { edges { node { id } } } }', false],
    ['mutation { createOrder(input: {}) { id } }', false],
    ['subscription { a: orderEvents { id } b: orderLineEvents { id } }', false],
  ];
  for (const [d, valid] of docs) {
    const js = validate(client, parse(d)).length === 0;
    check(js === valid, `graphql-js verdict for ${d}`);
    if (d.startsWith('subscription')) continue; // HTTP does not run subscriptions; validation is the same code
    const r = await gql(d);
    const ours = !(r.body.errors || []).some((e) => e.extensions && e.extensions.code === 'GRAPHQL_VALIDATION_FAILED');
    check(ours === valid, `our verdict for ${d}`, r.body);
  }

  // 3. Queries on seeded cache documents.
  const docsO = orders();
  await seed({ Order: docsO, OrderLine: [{ _id: 'l1', version: 1, sku: 'A', qty: 1 }, { _id: 'l2', version: 2, sku: 'B', qty: 2 }] });
  let r = await gql('{ order(id: "o03") { id version customer status total count lines { id sku qty } } }');
  eq(r.body, { data: { order: { id: 'o03', version: 1, customer: 'c3', status: 'OPEN', total: 4.5, count: 3, lines: [{ id: 'l1', sku: 'A', qty: 1 }, { id: 'l2', sku: 'B', qty: 2 }] } } }, 'order by id, with referenced lines');
  r = await gql('{ order(id: "o07") { lines { id } } }');
  eq(r.body, { data: { order: { lines: [{ id: 'l2' }, { id: 'l1' }] } } }, 'references keep their order; a dangling one is left out');
  r = await gql('{ orders(first: 12) { edges { node { id lines { id sku } } } } a: orders(last: 2) { edges { node { id lines { id } } } } }');
  eq(r.body.data && r.body.data.orders.edges.map((e) => [e.node.id, e.node.lines.map((l) => l.id)]),
    docsO.slice(0, 12).map((d) => [d._id, d._id === 'o07' ? ['l2', 'l1'] : ['l1', 'l2']]), 'references of a whole page (loaded in one batch) keep per-node order, dangling left out');
  eq(r.body.data && r.body.data.a.edges.map((e) => e.node.lines.length), [2, 2], 'a second list in the same request resolves its own references');
  r = await gql('{ order(id: "missing") { id } }');
  eq(r.body, { data: { order: null } }, 'absent id is null');
  r = await gql('{ order(id: "bad.id") { id } }');
  check(r.body.errors && r.body.errors[0].extensions.code === 'BAD_USER_INPUT', 'invalid id is BAD_USER_INPUT', r.body);

  const all = docsO.map((d) => d._id).sort();
  eq(await pages('', 7, 'fwd'), all, 'forward pages (first/after) by id visit every object once, in order');
  eq(await pages('', 6, 'back'), all, 'backward pages (last/before) by id visit every object once, in order');
  const byCust = [...docsO].sort((a, b) => {
    const ca = a.customer === undefined ? null : a.customer, cb = b.customer === undefined ? null : b.customer;
    if (ca !== cb) { if (ca === null) return 1; if (cb === null) return -1; return ca < cb ? 1 : -1; } // DESC, nulls last
    return a._id < b._id ? -1 : 1;
  }).map((d) => d._id);
  eq(await pages('orderBy: [{field: CUSTOMER, direction: DESC}]', 4, 'fwd'), byCust, 'pages by customer DESC (missing values last), ties by id');
  eq(await pages('orderBy: [{field: CUSTOMER, direction: DESC}]', 5, 'back'), byCust, 'backward pages by customer DESC');
  const asc = [...byCust].reverse();
  // ASC with ties by id ascending: recompute rather than reverse (ties keep id order).
  const byCustAsc = [...docsO].sort((a, b) => {
    const ca = a.customer === undefined ? null : a.customer, cb = b.customer === undefined ? null : b.customer;
    if (ca !== cb) { if (ca === null) return -1; if (cb === null) return 1; return ca < cb ? -1 : 1; }
    return a._id < b._id ? -1 : 1;
  }).map((d) => d._id);
  void asc;
  eq(await pages('orderBy: [{field: CUSTOMER}]', 3, 'fwd'), byCustAsc, 'pages by customer ASC (missing values first)');

  r = await gql('query($f: OrderFilter) { orders(filter: $f, first: 100) { edges { node { id customer } } } }',
    { f: { or: [{ customer: { eq: 'c1' } }, { and: [{ customer: { in: ['c2', 'c3'] } }, { id: { gte: 'o20' } }] }], not: { id: { eq: 'o01' } } } });
  const want = docsO.filter((d) => (d.customer === 'c1' || (['c2', 'c3'].includes(d.customer) && d._id >= 'o20')) && d._id !== 'o01').map((d) => d._id).sort();
  eq(r.body.data && r.body.data.orders.edges.map((e) => e.node.id), want, 'filter with or/and/not/in/gte');
  r = await gql('{ orders(filter: { customer: { ne: "c1" }, id: { lt: "o10" } }) { edges { node { id } } } }');
  eq(r.body.data && r.body.data.orders.edges.map((e) => e.node.id), docsO.filter((d) => d.customer !== 'c1' && d._id < 'o10').map((d) => d._id), 'ne (missing values included) and lt');
  r = await gql('{ orders(filter: { or: [] }) { edges { node { id } } } }');
  eq(r.body.data && r.body.data.orders.edges, [], 'or: [] matches nothing');
  r = await gql('{ orders(first: 2) { edges { cursor } } }');
  const cur = r.body.data.orders.edges[1].cursor;
  r = await gql(`{ orders(first: 2, after: "${cur}", orderBy: [{field: CUSTOMER}]) { edges { cursor } } }`);
  check(r.body.errors && r.body.errors[0].extensions.code === 'BAD_USER_INPUT' && /different orderBy/.test(r.body.errors[0].message), 'a cursor of another order is refused', r.body);
  r = await gql('{ orders(after: "garbage") { edges { cursor } } }');
  check(r.body.errors && r.body.errors[0].extensions.code === 'BAD_USER_INPUT', 'a garbage cursor is BAD_USER_INPUT', r.body);
  r = await gql('{ orders(first: 1, last: 1) { edges { cursor } } }');
  check(r.body.errors && r.body.errors[0].extensions.code === 'BAD_USER_INPUT', 'first with last is BAD_USER_INPUT', r.body);
  r = await gql('{ orders(first: 1001) { edges { cursor } } }');
  check(r.body.errors && r.body.errors[0].extensions.code === 'BAD_USER_INPUT', 'first > 1000 is BAD_USER_INPUT', r.body);
  r = await gql('{ orders(first: 0) { edges { cursor } pageInfo { hasNextPage } } }');
  eq(r.body.data, { orders: { edges: [], pageInfo: { hasNextPage: true } } }, 'first: 0 is an empty page that knows there is more');
});
