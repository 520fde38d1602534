// graphql-js 16 behind graphql-http on node:http, the reference GraphQL
// server: scripts/bench's peer (docs/benchmarks.md, "GraphQL engine").
//   node graphql-js.cjs --schema schema.graphql --port P [--orders N]
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { buildSchema } = require('graphql');
const { createHandler } = require('graphql-http/lib/use/http');
const { makeOrders, roots, arg } = require('./data.cjs');

const schema = buildSchema(fs.readFileSync(arg('--schema'), 'utf8'));
const r = roots(makeOrders(Number(arg('--orders', 1000))));
const rootValue = { order: r.order, orders: r.orders, updateOrder: r.updateOrder };
const handler = createHandler({ schema, rootValue });
const server = http.createServer((req, res) => (req.url.startsWith('/graphql') ? handler(req, res) : (res.writeHead(404), res.end())));
server.keepAliveTimeout = 60000;
server.listen(Number(arg('--port', 0)), '127.0.0.1', () => console.log('listening on ' + server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
