// ws_hold.cjs — holds a subscription open while graphql_clients_it.py stops
// the sidecar: prints "ready" once the subscription runs, then "closed <code>"
// when the server closes the socket (expected: 1001 Going Away).
'use strict';
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');
const client = createClient({
  url: process.env.GRAPHQL_URL.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0,
  on: { closed: (e) => { console.log(`closed ${e.code}`); process.exit(0); } },
});
client.subscribe({ query: 'subscription { orderEvents { id } }' }, { next() {}, error() {}, complete() {} });
// Answered after the subscription is set up (one connection's operations run in order).
client.subscribe({ query: '{ __typename }' }, { next() { console.log('ready'); }, error(e) { console.log('error', e); }, complete() {} });
setTimeout(() => { console.log('timeout'); process.exit(1); }, 30000);
