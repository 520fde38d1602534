// mercurius 16 on fastify 5 with graphql-jit (jit: 1, every query compiled
// after its first run): scripts/bench's peer (docs/benchmarks.md, "GraphQL engine").
//   node mercurius.cjs --schema schema.graphql --port P [--orders N]
'use strict';
const fs = require('node:fs');
const Fastify = require('fastify');
const mercurius = require('mercurius');
const { makeOrders, roots, arg } = require('./data.cjs');

const r = roots(makeOrders(Number(arg('--orders', 1000))));
const app = Fastify({ logger: false });
app.register(mercurius, {
  schema: fs.readFileSync(arg('--schema'), 'utf8'),
  resolvers: {
    Query: { order: (_, a) => r.order(a), orders: (_, a) => r.orders(a) },
    Mutation: { updateOrder: (_, a) => r.updateOrder(a) },
  },
  jit: 1,
  graphiql: false,
  path: '/graphql',
});
app.listen({ port: Number(arg('--port', 0)), host: '127.0.0.1' }).then(() => console.log('listening on ' + app.server.address().port));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
