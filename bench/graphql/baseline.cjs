// baseline.cjs — the benchmark's reference point: a Node GraphQL server
// (graphql-js executing, graphql-http serving GraphQL over HTTP) over the
// official mongodb driver, serving the same schema (our SDL) from the same
// cache database, for the fields the benchmark queries: m(id), ms(filter on
// equality, orderBy, first/after) and the model references.
//   NODE_PATH=<node_modules> node baseline.cjs <port> <mongo uri> <db> <schema.graphql>
'use strict';
const http = require('http');
const fs = require('fs');
const { buildSchema } = require('graphql');
const { createHandler } = require('graphql-http/lib/use/http');
const { MongoClient } = require('mongodb');

const [port, uri, dbName, sdlPath] = process.argv.slice(2);
const schema = buildSchema(fs.readFileSync(sdlPath, 'utf8'));

function lowerFirst(s) { return s[0].toLowerCase() + s.slice(1); }
function node(doc) { if (!doc) return null; const { _id, ...rest } = doc; return { id: _id, ...rest }; }
function snakeToField(model, v) {
  if (v === 'ID') return '_id';
  return v.toLowerCase().replace(/_([a-z])/g, (_, c) => c.toUpperCase());
}
const OPS = { eq: '$eq', ne: '$ne', gt: '$gt', gte: '$gte', lt: '$lt', lte: '$lte', in: '$in' };
function filterOf(f) {
  const and = [];
  for (const [k, v] of Object.entries(f || {})) {
    if (v == null) continue;
    if (k === 'and') and.push({ $and: v.map(filterOf) });
    else if (k === 'or') and.push({ $or: v.map(filterOf) });
    else if (k === 'not') and.push({ $nor: [filterOf(v)] });
    else for (const [op, a] of Object.entries(v)) and.push({ [k === 'id' ? '_id' : k]: { [OPS[op]]: a } });
  }
  return and.length ? { $and: and } : {};
}
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unb64 = (s) => JSON.parse(Buffer.from(s, 'base64url').toString());

(async () => {
  const client = await MongoClient.connect(uri, { maxPoolSize: 16 });
  const db = client.db(dbName);
  const rootValue = {};
  for (const t of Object.values(schema.getTypeMap())) {
    const ref = /^(.*)Connection$/.exec(t.name);
    if (!ref || !schema.getType(ref[1])) continue;
    const model = ref[1];
    const coll = db.collection(model);
    rootValue[lowerFirst(model)] = async ({ id }) => node(await coll.findOne({ _id: id }));
    rootValue[lowerFirst(model) + 's'] = async ({ filter, orderBy, first = 100, after }) => {
      const keys = (orderBy || []).map((o) => [snakeToField(model, o.field), o.direction === 'DESC' ? -1 : 1]);
      if (!keys.some(([k]) => k === '_id')) keys.push(['_id', 1]);
      const conds = [filterOf(filter)];
      if (after) { // keyset: (k1, ..., id) strictly after the cursor (ascending keys only in this baseline)
        const vals = unb64(after);
        conds.push({ $or: keys.map(([k], i) => Object.fromEntries([...keys.slice(0, i).map(([kk], j) => [kk, vals[j]]), [k, { $gt: vals[i] }]])) });
      }
      const docs = await coll.find({ $and: conds }).sort(keys).limit(first + 1).toArray();
      const page = docs.slice(0, first).map(node);
      const edges = page.map((n) => ({ node: n, cursor: b64(keys.map(([k]) => n[k === '_id' ? 'id' : k])) }));
      return { edges, pageInfo: { hasNextPage: docs.length > first, hasPreviousPage: !!after, startCursor: edges.length ? edges[0].cursor : null, endCursor: edges.length ? edges[edges.length - 1].cursor : null } };
    };
  }
  // Model references: the stored id(s) → the object(s).
  for (const t of Object.values(schema.getTypeMap())) {
    if (!t.getFields || t.name.startsWith('__') || !rootValue[lowerFirst(t.name)]) continue;
    for (const f of Object.values(t.getFields())) {
      let inner = f.type; while (inner.ofType) inner = inner.ofType;
      if (!rootValue[lowerFirst(inner.name)] || inner.name === t.name && f.name === 'id') continue;
      if (!schema.getType(inner.name + 'Connection')) continue;
      f.resolve = async (parent) => {
        const v = parent[f.name];
        if (v == null) return null;
        const coll = db.collection(inner.name);
        if (Array.isArray(v)) { const docs = await coll.find({ _id: { $in: v } }).toArray(); const by = new Map(docs.map((d) => [d._id, node(d)])); return v.map((i) => by.get(i)).filter(Boolean); }
        return node(await coll.findOne({ _id: v }));
      };
    }
  }
  const handler = createHandler({ schema, rootValue });
  http.createServer((req, res) => {
    if (req.url.startsWith('/graphql')) return handler(req, res);
    res.writeHead(404).end();
  }).listen(Number(port), '127.0.0.1', () => console.log(`baseline listening on ${port}`));
})();
