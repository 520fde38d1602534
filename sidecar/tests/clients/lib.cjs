// lib.cjs — helpers shared by the client checks (CommonJS: NODE_PATH resolves
// the pinned packages, see graphql_clients_it.py).
'use strict';
const { MongoClient } = require('mongodb');

const URL_ = process.env.GRAPHQL_URL;
let failures = 0;
let passes = 0;

function check(cond, what, detail) {
  if (cond) {
    passes++;
  } else {
    failures++;
    console.log(`  FAIL ${what}${detail !== undefined ? ': ' + (typeof detail === 'string' ? detail : JSON.stringify(detail)) : ''}`);
  }
  return cond;
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  return check(a === e, what, `got ${a}, want ${e}`);
}

// POST a GraphQL request; returns {status, type, body (parsed or text)}.
async function gql(query, variables, headers = {}) {
  const r = await fetch(URL_, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(variables ? { query, variables } : { query }),
  });
  const text = await r.text();
  let body = text;
  try { body = JSON.parse(text); } catch (_) { /* not JSON */ }
  return { status: r.status, type: r.headers.get('content-type'), body, headers: r.headers };
}

// Cache documents in the sink's shape: _id = aggregate id, version, fields.
async function seed(collections) {
  const client = await MongoClient.connect(process.env.MONGO_URI);
  try {
    const db = client.db(process.env.MONGO_DB);
    for (const [name, docs] of Object.entries(collections)) {
      await db.collection(name).deleteMany({});
      if (docs.length) await db.collection(name).insertMany(docs);
    }
  } finally {
    await client.close();
  }
}

// Collects `n` results of a graphql-ws subscription (or its error) with a deadline.
function collect(client, payload, n, ms = 10000) {
  return new Promise((resolve) => {
    const got = [];
    let dispose = null;
    const timer = setTimeout(() => { dispose && dispose(); resolve({ got, error: 'timeout' }); }, ms);
    dispose = client.subscribe(payload, {
      next: (v) => { got.push(v); if (got.length === n) { clearTimeout(timer); dispose(); resolve({ got }); } },
      error: (e) => { clearTimeout(timer); resolve({ got, error: e }); },
      complete: () => { clearTimeout(timer); resolve({ got, completed: true }); },
    });
  });
}

function done(name) {
  console.log(`${name}: ${passes} checks passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

function run(name, fn) {
  fn().then(() => done(name), (e) => { console.log(`  FAIL ${name} threw: ${e && e.stack || e}`); failures++; done(name); });
}

module.exports = { URL: URL_, check, collect, eq, gql, seed, run };
