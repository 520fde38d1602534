// fanout.cjs — subscribers for the fan-out benchmark (bench/graphql/fanout.py):
// CONNECTIONS raw graphql-transport-ws sockets with SUBS subscriptions each to
// `orderEvents`, then, for every event, the delay from the event's `time` (set
// by the sidecar when the command made it) to its arrival here. Prints "ready"
// once every subscription runs, then on stdin's end one JSON line: deliveries,
// expected, p50/p90/p99/max in ms.
'use strict';
const WebSocket = require('ws');

const URL_ = process.env.GRAPHQL_URL.replace(/^http/, 'ws');
const CONNECTIONS = Number(process.env.CONNECTIONS || 50), SUBS = Number(process.env.SUBS || 100);
const lat = [];
let acks = 0, events = new Set();

function open(i) {
  const ws = new WebSocket(URL_, 'graphql-transport-ws', { perMessageDeflate: false });
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'connection_ack') {
      for (let k = 0; k < SUBS; k++)
        ws.send(JSON.stringify({ id: `s${k}`, type: 'subscribe', payload: { query: 'subscription { orderEvents { id time } }' } }));
      // A query after the subscriptions is answered after they run (per-connection order).
      ws.send(JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: '{ __typename }' } }));
    } else if (m.type === 'next' && m.id === 'q') {
      if (++acks === CONNECTIONS) console.log('ready');
    } else if (m.type === 'next') {
      const ev = m.payload.data.orderEvents;
      lat.push(Date.now() - Date.parse(ev.time));
      events.add(ev.id);
    } else if (m.type === 'error') {
      console.error(`connection ${i}: ${JSON.stringify(m.payload)}`);
    }
  });
  ws.on('close', (code) => { if (code !== 1000 && code !== 1005) console.error(`connection ${i} closed ${code}`); });
  return ws;
}

const socks = [];
for (let i = 0; i < CONNECTIONS; i++) socks.push(open(i));
process.stdin.resume();
process.stdin.on('end', () => {
  setTimeout(() => {
    lat.sort((a, b) => a - b);
    const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null);
    console.log(JSON.stringify({ deliveries: lat.length, expected: events.size * CONNECTIONS * SUBS,
      p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat.length ? lat[lat.length - 1] : null }));
    for (const s of socks) s.close();
    process.exit(0);
  }, 3000); // the last events' deliveries
});
