// graphqljs_check.mjs — cross-checks the engine against graphql-js (not part
// of the unit tier: needs node and `npm install graphql@16`).
//   BYRON_GQL_INTROSPECTION_OUT=/tmp/i.json build/sidecar/sidecar_component_schema_tests
//   NODE_PATH=<dir with node_modules> node graphqljs_check.mjs /tmp/i.json
// Checks that buildClientSchema() accepts our introspection result, that our
// SDL printer's output builds the same schema, and that graphql-js agrees a
// few typical client documents are valid against it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.cwd() + '/');
const { buildClientSchema, buildSchema, printSchema, parse, validate } = require('graphql');

const file = process.argv[2];
const intro = JSON.parse(readFileSync(file, 'utf8'));
const client = buildClientSchema(intro.data);
const fromSdl = buildSchema(readFileSync(file + '.graphql', 'utf8'));
const a = printSchema(client), b = printSchema(fromSdl);
if (a !== b) {
  console.error('introspection and SDL disagree');
  console.error(a);
  console.error('----');
  console.error(b);
  process.exit(1);
}
const docs = [
  'query { order(id: "1") { id version customer status lines { sku qty } } }',
  'query($f: OrderFilter, $o: [OrderOrderBy!]) { orders(filter: $f, orderBy: $o, first: 10) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }',
  'mutation { createOrder(input: {customer: "c", lines: ["l1"]}) { id version sequence events { type data } } }',
  'mutation { shipOrder(id: "1", input: {carrier: "ups"}) { id } cancelOrder(id: "1") { id } }',
  'subscription { orderEvents(id: "1", fromSequence: "5") { sequence type id data } }',
];
for (const d of docs) {
  const errors = validate(client, parse(d));
  if (errors.length) {
    console.error(d, errors.map(String));
    process.exit(1);
  }
}
console.log(`graphql-js check: ok (${Object.keys(client.getTypeMap()).length} types)`);
