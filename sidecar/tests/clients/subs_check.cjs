// subs_check.cjs — many subscriptions, one consumer: every live subscription of
// a model is fed by one JetStream consumer per sidecar, fanned out in process.
// 60 subscriptions over 12 graphql-ws connections (5 each, the per-connection
// cap here) all see a new order's event; the stream gains exactly one consumer
// (NATS' monitoring endpoint counts them); the replica cap (60 here) refuses the
// 61st subscription with TOO_MANY_SUBSCRIPTIONS; closing them all leaves the
// consumer count where it was.
'use strict';
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');
const { URL, check, eq, gql, run } = require('./lib.cjs');

const WS_URL = URL.replace(/^http/, 'ws');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function consumers() {
  const stream = `BYRON_it_${process.env.COMPONENT.replace(/-/g, '_')}`;
  const j = await (await fetch(`${process.env.NATS_MONITOR_URL}/jsz?streams=true&consumers=true&accounts=true`)).json();
  for (const a of j.account_details || [])
    for (const s of a.stream_detail || []) if (s.name === stream) return s.state.consumer_count;
  return 0;
}

async function feeds() {
  const m = /byron_sidecar_graphql_feeds (\d+)/.exec(await (await fetch(process.env.METRICS_URL)).text());
  return m ? Number(m[1]) : -1;
}

run('subs_check', async () => {
  await gql('mutation { createOrder(input: {customer: "warm"}) { id } }'); // the stream exists
  const before = await consumers();
  const clients = [], got = new Map(), errors = [];
  const tag = `f${Date.now() % 1000000}`;
  for (let c = 0; c < 12; c++) {
    const client = createClient({ url: WS_URL, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    clients.push(client);
    for (let k = 0; k < 5; k++) {
      const key = `${c}.${k}`;
      got.set(key, []);
      client.subscribe({ query: 'subscription { orderEvents { id type } }' }, {
        next: (v) => got.get(key).push(v.data.orderEvents.id),
        error: (e) => errors.push([key, e]), complete: () => {},
      });
    }
  }
  // Every subscription is running once the subscriptions gauge says so.
  for (const end = Date.now() + 10000; Date.now() < end; await sleep(100)) {
    const m = /byron_sidecar_graphql_subscriptions (\d+)/.exec(await (await fetch(process.env.METRICS_URL)).text());
    if (m && Number(m[1]) >= 60) break;
  }
  eq(errors, [], 'sixty subscriptions accepted');
  eq(await consumers() - before, 1, 'one JetStream consumer for sixty subscriptions of one model');
  eq(await feeds(), 1, 'the feed gauge says one');

  // The replica cap: the 61st, on a fresh connection, is refused.
  const extra = createClient({ url: WS_URL, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  const refused = await new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), 8000);
    extra.subscribe({ query: 'subscription { orderEvents { id } }' }, {
      next: () => {}, error: (e) => { clearTimeout(t); resolve(e); }, complete: () => { clearTimeout(t); resolve('complete'); },
    });
  });
  check(JSON.stringify(refused).includes('TOO_MANY_SUBSCRIPTIONS'), 'the replica cap refuses the 61st subscription', refused);
  await extra.dispose();

  // One event, sixty deliveries.
  await gql(`mutation { createOrder(input: {id: "${tag}", customer: "fan"}) { id } }`);
  for (const end = Date.now() + 10000; Date.now() < end; await sleep(100))
    if ([...got.values()].every((ids) => ids.includes(tag))) break;
  const missing = [...got.entries()].filter(([, ids]) => !ids.includes(tag)).map(([k]) => k);
  eq(missing, [], 'every subscription received the event');
  check([...got.values()].every((ids) => ids.filter((x) => x === tag).length === 1), 'exactly once each');

  for (const c of clients) await c.dispose();
  for (const end = Date.now() + 10000; Date.now() < end; await sleep(100)) {
    const m = /byron_sidecar_graphql_subscriptions (\d+)/.exec(await (await fetch(process.env.METRICS_URL)).text());
    if (m && Number(m[1]) === 0) break;
  }
  eq(await consumers() - before, 1, 'the model keeps its one consumer, whatever the subscribers do');
});
