// seed.cjs — N orders (and 10 order lines they reference) in the cache shape
// the sink writes (_id, version, fields), with the indexes the sink creates.
//   NODE_PATH=<node_modules> node seed.cjs <mongo uri> <db> <N> <customers>
'use strict';
const { MongoClient } = require('mongodb');
const [uri, dbName, nArg, cArg] = process.argv.slice(2);
const N = Number(nArg), C = Number(cArg);
(async () => {
  const client = await MongoClient.connect(uri);
  const db = client.db(dbName);
  await db.collection('Order').deleteMany({});
  await db.collection('OrderLine').deleteMany({});
  const lines = [];
  for (let i = 0; i < 10; i++) lines.push({ _id: `l${i}`, version: 1, sku: `SKU-${i}`, qty: i + 1 });
  await db.collection('OrderLine').insertMany(lines);
  for (let start = 0; start < N; start += 1000) {
    const docs = [];
    for (let i = start; i < Math.min(N, start + 1000); i++)
      docs.push({ _id: `o${String(i).padStart(6, '0')}`, version: 1 + (i % 5), customer: `c${String(i % C).padStart(3, '0')}`,
        status: ['OPEN', 'SHIPPED', 'CANCELLED'][i % 3], total: (i * 7919) % 10007 / 10, count: i % 50,
        lines: [`l${i % 10}`, `l${(i + 3) % 10}`], code: `CODE-${i}` });
    await db.collection('Order').insertMany(docs);
  }
  await db.collection('Order').createIndex({ customer: 1 });
  await db.collection('Order').createIndex({ total: 1 });
  await db.collection('Order').createIndex({ code: 1 }, { unique: true });
  console.log(`seeded ${N} orders in ${dbName}`);
  await client.close();
})().catch((e) => { console.error(e); process.exit(1); });
