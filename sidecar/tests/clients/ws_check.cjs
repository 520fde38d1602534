// ws_check.cjs — graphql-ws (the reference client of graphql-transport-ws) and
// a raw WebSocket against /graphql: subscriptions fed by mutations from the
// component's JetStream stream (one object, a whole model, replay from a
// sequence), queries and mutations over the socket, and the protocol's
// close codes (4406, 4401, 4408, 4400) and limits (subscriptions per connection).
'use strict';
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');
const { URL, check, collect, eq, gql, run } = require('./lib.cjs');

const WS_URL = URL.replace(/^http/, 'ws');

function newClient() {
  return createClient({ url: WS_URL, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
}

async function once(client, query, variables) {
  const r = await collect(client, { query, variables }, 1);
  return r.got[0] || { error: r.error };
}

// A raw socket: resolves with the close code (and the messages seen) when the server closes it.
function rawClose(protocols, steps, ms = 8000, path = '/graphql') {
  return new Promise((resolve) => {
    const ws = new WebSocket(WS_URL.replace(/\/graphql$/, path), protocols);
    const msgs = [];
    const timer = setTimeout(() => { ws.terminate(); resolve({ code: 'timeout', msgs }); }, ms);
    ws.on('open', () => { for (const s of steps) ws.send(typeof s === 'string' ? s : JSON.stringify(s)); });
    ws.on('message', (d) => msgs.push(JSON.parse(d.toString())));
    ws.on('close', (code, reason) => { clearTimeout(timer); resolve({ code, reason: reason.toString(), msgs }); });
    ws.on('error', (e) => { clearTimeout(timer); resolve({ code: 'error', error: String(e), msgs }); });
  });
}

const SEL = '{ sequence type model id version data }';

run('ws_check', async () => {
  const id = `w${Date.now() % 1000000}`;
  const c1 = await gql(`mutation { createOrder(input: {id: "${id}", customer: "wes", status: OPEN}) { sequence } }`);
  const seq1 = c1.body.data.createOrder.sequence;

  // One object's events, replayed from its first sequence, then live ones.
  const client = newClient();
  // The client closes its socket whenever its last operation ends, and an
  // operation started in that instant completes without an answer: an idle
  // subscription held throughout keeps one socket for the whole check.
  const anchor = client.subscribe({ query: 'subscription { orderEvents(id: "anchor") { id } }' }, { next() {}, error() {}, complete() {} });
  const objSub = collect(client, { query: `subscription($id: ID, $s: String) { orderEvents(id: $id, fromSequence: $s) ${SEL} }`, variables: { id, s: seq1 } }, 3);
  // Model-wide, live only (no fromSequence): a query on the same connection
  // answers after the subscription was set up (one connection's messages are
  // handled in order), so nothing published after it can be missed.
  const modelSub = collect(client, { query: `subscription { orderEvents ${SEL} }` }, 2);
  eq(await once(client, '{ __typename }'), { data: { __typename: 'Query' } }, 'a query over the socket');
  const u = await gql(`mutation { updateOrder(id: "${id}", input: {status: SHIPPED}) { sequence } }`);
  await gql('mutation { createOrderLine(input: {sku: "Z"}) { id } }'); // another model: not in orderEvents
  const m = await once(client, `mutation { deleteOrder(id: "${id}") { sequence version } }`);
  check(m.data && m.data.deleteOrder.version === 3, 'a mutation over the socket', m);
  const o = await objSub;
  check(!o.error, 'object subscription delivered', o.error);
  eq(o.got.map((r) => [r.data.orderEvents.type, r.data.orderEvents.version, r.data.orderEvents.id]),
    [['OrderCreated', 1, id], ['OrderUpdated', 2, id], ['OrderDeleted', 3, id]], 'one object: replay from fromSequence, then live events, in order');
  eq(o.got[0].data.orderEvents.sequence, seq1, 'the replayed event carries its stream sequence');
  eq(o.got[1].data.orderEvents.data, { status: 'SHIPPED' }, 'an update carries the changed fields');
  eq(o.got[1].data.orderEvents.sequence, u.body.data.updateOrder.sequence, 'the event sequence is the mutation\'s sequence');
  const ms = await modelSub;
  check(!ms.error, 'model subscription delivered', ms.error);
  eq(ms.got.map((r) => [r.data.orderEvents.type, r.data.orderEvents.model]), [['OrderUpdated', 'Order'], ['OrderDeleted', 'Order']], 'a model: live events of that model only');

  // Argument errors reach the client as an `error` message (the socket stays open).
  let r = await collect(client, { query: 'subscription { orderEvents(fromSequence: "abc") { id } }' }, 1);
  check(Array.isArray(r.error) && r.error[0].extensions.code === 'BAD_USER_INPUT', 'a bad fromSequence is BAD_USER_INPUT', r);
  r = await collect(client, { query: 'subscription { orderEvents(id: "bad.id") { id } }' }, 1);
  check(Array.isArray(r.error) && r.error[0].extensions.code === 'BAD_USER_INPUT', 'a bad id is BAD_USER_INPUT', r);
  r = await collect(client, { query: 'subscription { orderEvents { nope } }' }, 1);
  check(Array.isArray(r.error) && r.error[0].extensions.code === 'GRAPHQL_VALIDATION_FAILED', 'an invalid document is a validation error', r);
  eq(await once(client, '{ __typename }'), { data: { __typename: 'Query' } }, 'the connection survives errors');

  // --graphql-max-subscriptions 5 (set by the wrapper): the sixth is refused.
  const c2 = newClient();
  const held = [];
  for (let i = 0; i < 5; i++) held.push(c2.subscribe({ query: 'subscription { orderEvents { id } }' }, { next() {}, error() {}, complete() {} }));
  r = await collect(c2, { query: 'subscription { orderEvents { id } }' }, 1);
  check(Array.isArray(r.error) && r.error[0].extensions.code === 'TOO_MANY_SUBSCRIPTIONS', 'the sixth subscription on a connection is refused', r.error);
  held.forEach((d) => d());
  await c2.dispose();
  anchor();
  await client.dispose();

  // Protocol-level: close codes of graphql-transport-ws.
  let x = await rawClose(undefined, []);
  eq(x.code, 4406, 'no subprotocol offered: 4406');
  x = await rawClose('graphql-transport-ws', [{ type: 'subscribe', id: '1', payload: { query: '{ __typename }' } }]);
  eq(x.code, 4401, 'subscribe before connection_init: 4401');
  x = await rawClose('graphql-transport-ws', []);
  eq(x.code, 4408, 'no connection_init within --graphql-ws-init-timeout-ms: 4408');
  x = await rawClose('graphql-transport-ws', [{ type: 'connection_init' }, '{not json']);
  eq([x.code, x.msgs[0] && x.msgs[0].type], [4400, 'connection_ack'], 'ack, then malformed JSON: 4400');
  x = await rawClose('graphql-transport-ws', [{ type: 'connection_init' }, { type: 'connection_init' }]);
  eq(x.code, 4429, 'a second connection_init: 4429');
  x = await rawClose('graphql-transport-ws', [], 4000, '/elsewhere');
  check(x.code === 'error' || x.code === 1006, 'WebSocket on another path is refused', x);
  x = await rawClose('graphql-transport-ws', [{ type: 'connection_init' }, { type: 'ping' }, { type: 'complete', id: 'none' }, JSON.stringify({ type: 'subscribe', id: 'q', payload: { query: '{ __typename }' } }), { type: 'bogus' }]);
  eq([x.code, x.msgs.map((v) => v.type)], [4400, ['connection_ack', 'pong', 'next', 'complete']], 'ping → pong, a query → next + complete, unknown type → 4400');
  // A client that stops reading: the unsent messages pile up past --graphql-ws-queue
  // (16 here) and the sidecar closes it (1013) instead of buffering without bound.
  const big = 'x'.repeat(60000);
  const firstBig = await gql(`mutation { createOrder(input: {customer: "big", notes: {pad: "${big}"}}) { sequence } }`);
  for (let i = 0; i < 79; i++) await gql(`mutation { createOrder(input: {customer: "big", notes: {pad: "${big}"}}) { id } }`);
  const metric = async () => Number((/byron_sidecar_graphql_ws_slow_closed_total (\d+)/.exec(await (await fetch(process.env.METRICS_URL)).text()) || [0, 0])[1]);
  const before = await metric();
  const slow = await new Promise((resolve) => {
    const ws = new WebSocket(WS_URL, 'graphql-transport-ws');
    let closed = null;
    ws.on('close', (code) => { closed = code; });
    ws.on('error', () => {});
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'connection_init' }));
      ws.send(JSON.stringify({ type: 'subscribe', id: 's', payload: { query: `subscription { orderEvents(fromSequence: "${firstBig.body.data.createOrder.sequence}") { data } }` } }));
      ws._socket.pause(); // stop reading: 80 events of 60 kB fill the socket buffers
      const end = Date.now() + 15000;
      const poll = async () => {
        const n = await metric();
        if (n > before || Date.now() > end) {
          ws._socket.resume();
          const wait = Date.now() + 5000;
          const fin = () => (closed !== null || Date.now() > wait ? (ws.terminate(), resolve({ n, closed })) : setTimeout(fin, 50));
          fin();
        } else setTimeout(poll, 100);
      };
      poll();
    });
  });
  check(slow.n === before + 1, 'a client that stops reading is closed as a slow consumer', slow);
  check(slow.closed === 1013 || slow.closed === 1006, 'it sees 1013 (or the drop, if the close frame could not be written)', slow);
});
