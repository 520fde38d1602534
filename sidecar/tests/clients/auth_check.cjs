// auth_check.cjs — identity and access against a real OpenID Connect provider
// (Ory Hydra from the testenv) with the clients people run: fetch for GraphQL
// over HTTP, graphql-ws and a raw WebSocket. Every attack a bearer-token API
// must refuse, key rotation at the provider, the authorization matrix
// (scopes × operations, rows owned by the token's subject) over HTTP and
// WebSocket, CORS as a browser does it, and a token expiring under an open
// subscription. The component's rules are in auth_it.py.
'use strict';
const crypto = require('node:crypto');
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');
const { URL, check, eq, gql, run, seed } = require('./lib.cjs');

const WS_URL = URL.replace(/^http/, 'ws');
const ADMIN = process.env.OIDC_ADMIN_URL;
const ISSUER = process.env.OIDC_ISSUER;
const AUD = 'orders-api';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function admin(method, path, body) {
  const r = await fetch(ADMIN + path, {
    method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A client-credentials client of Hydra; its id is the tokens' `sub`.
async function client(id, scopes, lifespan) {
  await admin('POST', '/admin/clients', {
    client_id: id, client_secret: `${id}-secret-0123456789`, grant_types: ['client_credentials'],
    scope: scopes.join(' '), audience: [AUD, 'other-api'], token_endpoint_auth_method: 'client_secret_basic',
    access_token_strategy: 'jwt',
  });
  if (lifespan) await admin('PUT', `/admin/clients/${id}/lifespans`, { client_credentials_grant_access_token_lifespan: lifespan });
  return id;
}

async function token(id, scopes, audience = AUD) {
  const r = await fetch(ISSUER.replace(/\/$/, '') + '/oauth2/token', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${id}:${id}-secret-0123456789`).toString('base64'),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: scopes.join(' '), audience }),
  });
  const j = await r.json();
  if (!j.access_token) throw new Error(`token for ${id}: ${JSON.stringify(j)}`);
  return j.access_token;
}

const b64u = (x) => Buffer.from(x).toString('base64url');
const part = (t, i) => JSON.parse(Buffer.from(t.split('.')[i], 'base64url').toString());
const bearer = (t) => ({ authorization: `Bearer ${t}` });
const code = (r) => r.body && r.body.errors && r.body.errors[0] && r.body.errors[0].extensions &&
  r.body.errors[0].extensions.code;

const LIST = '{ orders(first: 100) { edges { node { id customer } } } }';
const ids = (r) => (r.body.data ? r.body.data.orders.edges.map((e) => e.node.id).sort() : r.body);

function wsClient(params, extra = {}) {
  return createClient({ url: WS_URL, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false,
    connectionParams: params, ...extra });
}

// The first result (or error / close) of one operation over graphql-ws.
function wsOnce(c, query, ms = 8000) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ error: 'timeout' }), ms);
    c.subscribe({ query }, {
      next: (v) => { clearTimeout(timer); resolve(v); },
      error: (e) => { clearTimeout(timer); resolve({ error: e }); },
      complete: () => {},
    });
  });
}

// A raw socket: the close code, or 'open' once acknowledged and kept.
function rawWs(headers, init, ms = 6000) {
  return new Promise((resolve) => {
    const ws = new WebSocket(WS_URL, 'graphql-transport-ws', { headers });
    const timer = setTimeout(() => { ws.terminate(); resolve({ code: 'timeout' }); }, ms);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: init })));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'connection_ack') { clearTimeout(timer); ws.close(); resolve({ code: 'ack' }); }
    });
    ws.on('unexpected-response', (req, res) => { clearTimeout(timer); resolve({ code: `http ${res.statusCode}` }); });
    ws.on('close', (c, reason) => { clearTimeout(timer); resolve({ code: c, reason: reason.toString() }); });
    ws.on('error', () => {});
  });
}

async function metric(name) {
  const text = await (await fetch(process.env.METRICS_URL)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').pop());
  return sum;
}

run('auth_check', async () => {
  const tag = `${Date.now() % 1000000}`;
  const alice = await client(`alice-${tag}`, ['orders.read', 'orders.write']);
  const bob = await client(`bob-${tag}`, ['orders.read', 'orders.write']);
  const boss = await client(`boss-${tag}`, ['orders.read', 'orders.write', 'orders.admin']);
  const reader = await client(`reader-${tag}`, ['orders.read']);
  const brief = await client(`brief-${tag}`, ['orders.read'], '3s');
  const tA = await token(alice, ['orders.read', 'orders.write']);
  const tB = await token(bob, ['orders.read', 'orders.write']);
  const tBoss = await token(boss, ['orders.read', 'orders.write', 'orders.admin']);
  const tR = await token(reader, ['orders.read']);
  eq(part(tA, 0).alg, 'RS256', 'Hydra signs access tokens with RS256');
  eq(part(tA, 1).sub, alice, "the token's subject is the client");

  await seed({
    Order: [
      { _id: `a1-${tag}`, version: 1, customer: alice }, { _id: `a2-${tag}`, version: 1, customer: alice },
      { _id: `b1-${tag}`, version: 1, customer: bob },
    ],
    OrderLine: [{ _id: `l1-${tag}`, version: 1, sku: 'pen', qty: 1 }],
  });

  // ---- authentication: accepted, and every forgery refused with 401
  let r = await gql(LIST, null, bearer(tA));
  eq(r.status, 200, 'a token from the provider is accepted');
  eq(ids(r), [`a1-${tag}`, `a2-${tag}`], 'alice lists her own orders only');
  r = await gql(LIST);
  eq(r.status, 401, 'anonymous list refused');
  eq(code(r), 'UNAUTHENTICATED', 'anonymous: extensions.code UNAUTHENTICATED');
  eq(r.headers.get('www-authenticate'), 'Bearer realm="byron"', 'anonymous: WWW-Authenticate challenge');
  r = await gql('{ orderLines { edges { node { id sku } } } }');
  eq(r.status, 200, 'anonymous catalog read allowed by its rule');

  const refused = async (t, what) => {
    const res = await gql(LIST, null, bearer(t));
    eq(res.status, 401, `${what}: 401`);
    check(/error="invalid_token"/.test(res.headers.get('www-authenticate') || ''), `${what}: invalid_token challenge`,
      res.headers.get('www-authenticate'));
    return res;
  };
  const [h, p] = tA.split('.');
  await refused(`${b64u(JSON.stringify({ alg: 'none', typ: 'JWT', kid: part(tA, 0).kid }))}.${p}.`, 'alg none (empty signature)');
  await refused(`${b64u(JSON.stringify({ alg: 'none', kid: part(tA, 0).kid }))}.${p}.AAAA`, 'alg none');
  // HS256 keyed with the provider's public key (PEM), the classic confusion.
  const jwks = await (await fetch(ISSUER.replace(/\/$/, '') + '/.well-known/jwks.json')).json();
  const pub = crypto.createPublicKey({ key: jwks.keys.find((k) => k.kid === part(tA, 0).kid), format: 'jwk' });
  const pem = pub.export({ type: 'spki', format: 'pem' });
  const hsIn = `${b64u(JSON.stringify({ alg: 'HS256', kid: part(tA, 0).kid }))}.${p}`;
  await refused(`${hsIn}.${crypto.createHmac('sha256', pem).update(hsIn).digest('base64url')}`, 'HS256 with the public key');
  // A key of our own, announced by a kid the provider never had.
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forge = (kid, claims) => {
    const input = `${b64u(JSON.stringify({ alg: 'RS256', kid }))}.${b64u(JSON.stringify(claims))}`;
    return `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  };
  const fetchesBefore = await metric('byron_sidecar_auth_key_fetches_total');
  for (let i = 0; i < 10; i++) await refused(forge(`made-up-${i}`, part(tA, 1)), `unknown kid ${i}`);
  const fetches = (await metric('byron_sidecar_auth_key_fetches_total')) - fetchesBefore;
  check(fetches <= 4, 'unknown kids do not make the sidecar hammer the provider (rate-limited refresh)', fetches);
  await refused(forge(part(tA, 0).kid, part(tA, 1)), "our key under the provider's kid");
  await refused(`${h}.${b64u(JSON.stringify({ ...part(tA, 1), sub: bob }))}.${tA.split('.')[2]}`, 'tampered payload (sub swapped)');
  await refused(await token(alice, ['orders.read'], 'other-api'), 'wrong audience');
  r = await gql(LIST, null, { authorization: `Basic ${b64u('a:b')}` });
  eq(r.status, 401, 'a non-Bearer scheme is refused');

  // Expiry: a 3 s token is refused once it has expired (clock skew is 0 here).
  const tBrief = await token(brief, ['orders.read']);
  eq((await gql(LIST, null, bearer(tBrief))).status, 200, 'a short-lived token works while valid');
  const expWs = wsClient({ Authorization: `Bearer ${tBrief}` });
  const closed = new Promise((resolve) => {
    expWs.on('closed', (e) => resolve(e.code));
    expWs.subscribe({ query: '{ orderEvents { id } }'.replace('{ orderEvents', 'subscription { orderEvents') }, { next: () => {}, error: () => {}, complete: () => {} });
  });
  const deadline = Date.now() + 15000;
  let expired = false;
  while (!expired && Date.now() < deadline) {
    await sleep(250);
    expired = (await gql(LIST, null, bearer(tBrief))).status === 401;
  }
  check(expired, 'an expired token is refused');
  const closeCode = await Promise.race([closed, sleep(8000).then(() => 'open')]);
  eq(closeCode, 4403, 'a subscription ends when its token expires (close 4403)');

  // ---- authorization matrix over HTTP
  r = await gql(LIST, null, bearer(tBoss));
  check(ids(r).length >= 3, 'orders.admin lists every order', ids(r));
  r = await gql(`{ order(id: "b1-${tag}") { id } }`, null, bearer(tA));
  eq(r.body.data && r.body.data.order, null, "alice cannot read bob's order by id (as if absent)");
  r = await gql(`{ order(id: "a1-${tag}") { id } }`, null, bearer(tA));
  eq(r.body.data && r.body.data.order && r.body.data.order.id, `a1-${tag}`, 'alice reads her order by id');
  r = await gql(`mutation { createOrder(input: {customer: "${alice}"}) { id } }`, null, bearer(tR));
  eq([r.status, code(r)], [403, 'FORBIDDEN'], 'orders.read cannot create: 403 FORBIDDEN');
  r = await gql(`mutation { createOrder(input: {id: "a3-${tag}", customer: "${bob}"}) { id } }`, null, bearer(tA));
  eq(code(r), 'FORBIDDEN', 'alice cannot create an order in bob\'s name');
  r = await gql(`mutation { createOrder(input: {id: "a3-${tag}", customer: "${alice}"}) { id } }`, null, bearer(tA));
  eq(r.body.data && r.body.data.createOrder && r.body.data.createOrder.id, `a3-${tag}`, 'alice creates her own order', r.body);
  r = await gql(`mutation { updateOrder(id: "b1-${tag}", input: {status: SHIPPED}) { id } }`, null, bearer(tA));
  eq(code(r), 'FORBIDDEN', "alice cannot update bob's order");
  r = await gql(`mutation { updateOrder(id: "a1-${tag}", input: {customer: "${bob}"}) { id } }`, null, bearer(tA));
  eq(code(r), 'FORBIDDEN', 'alice cannot give her order away');
  r = await gql(`mutation { deleteOrder(id: "b1-${tag}") { id } }`, null, bearer(tA));
  eq([r.status, code(r)], [403, 'FORBIDDEN'], 'delete needs orders.admin');
  r = await gql(`mutation { deleteOrder(id: "a3-${tag}") { id } }`, null, bearer(tBoss));
  check(r.body.data && r.body.data.deleteOrder, "orders.admin deletes anyone's order", r.body);
  r = await gql(`{ orderLines { edges { node { id } } } orders { edges { node { id } } } }`);
  eq(r.status, 401, 'one refused root field refuses the whole operation');
  // Idempotency keys belong to their caller: bob's equal key is his own command.
  const key = { 'idempotency-key': `k-${tag}` };
  const newId = (res) => res.body.data && res.body.data.createOrder && res.body.data.createOrder.id;
  const ra = await gql(`mutation { createOrder(input: {customer: "${alice}"}) { id } }`, null, { ...bearer(tA), ...key });
  const ra2 = await gql(`mutation { createOrder(input: {customer: "${alice}"}) { id } }`, null, { ...bearer(tA), ...key });
  const rb = await gql(`mutation { createOrder(input: {customer: "${bob}"}) { id } }`, null, { ...bearer(tB), ...key });
  check(newId(ra) && newId(ra) === newId(ra2), 'a re-sent keyed create lands on the same object', [ra.body, ra2.body]);
  check(newId(rb) && newId(rb) !== newId(ra), "an equal key from another caller is not alice's result", [ra.body, rb.body]);

  // ---- over WebSocket
  eq((await rawWs({}, { Authorization: 'Bearer not.a.token' })).code, 4403, 'connection_init with a bad token: 4403');
  const evil = await rawWs({ origin: 'https://evil.test' }, {});
  check(evil.code === 'http 403' || evil.code === 1006, 'a WebSocket from a refused origin is not upgraded', evil);
  eq((await rawWs({ origin: 'https://shop.test' }, {})).code, 'ack', 'a WebSocket from an allowed origin is');
  const anonWs = wsClient({});
  r = await wsOnce(anonWs, 'subscription { orderEvents { id } }');
  check(r.error && JSON.stringify(r.error).includes('UNAUTHENTICATED'), 'anonymous subscription refused', r);
  r = await wsOnce(anonWs, '{ orderLines { edges { node { id } } } }');
  check(r.data && r.data.orderLines, 'anonymous catalog over WebSocket', r);
  await anonWs.dispose();
  const aliceWs = wsClient({ Authorization: `Bearer ${tA}` });
  r = await wsOnce(aliceWs, LIST);
  eq(r.data && r.data.orders.edges.map((e) => e.node.id).sort().filter((x) => x.startsWith('a')).length >= 2, true,
    'alice lists over WebSocket');
  check(r.data && r.data.orders.edges.every((e) => e.node.customer === alice), 'only her rows over WebSocket', r);
  r = await wsOnce(aliceWs, 'mutation { deleteOrder(id: "x") { id } }');
  check(r.error && JSON.stringify(r.error).includes('FORBIDDEN'), 'mutation refused over WebSocket', r);
  // Subscriptions see only their subject's rows.
  const seen = [];
  const live = new Promise((resolve) => {
    aliceWs.subscribe({ query: 'subscription { orderEvents { id data } }' }, {
      next: (v) => { seen.push(v.data.orderEvents.id); if (seen.includes(`a9-${tag}`)) resolve(); },
      error: (e) => { seen.push(`error ${JSON.stringify(e)}`); resolve(); }, complete: () => resolve(),
    });
  });
  await sleep(300);
  await gql(`mutation { createOrder(input: {id: "b9-${tag}", customer: "${bob}"}) { id } }`, null, bearer(tB));
  await gql(`mutation { createOrder(input: {id: "a9-${tag}", customer: "${alice}"}) { id } }`, null, bearer(tA));
  await Promise.race([live, sleep(10000)]);
  check(seen.includes(`a9-${tag}`), "alice's subscription gets her order's event", seen);
  check(!seen.includes(`b9-${tag}`), "and not bob's", seen);
  await aliceWs.dispose();

  // ---- browsers: CORS
  let pre = await fetch(URL, { method: 'OPTIONS', headers: { origin: 'https://shop.test', 'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type' } });
  eq(pre.status, 204, 'preflight from an allowed origin');
  eq(pre.headers.get('access-control-allow-origin'), 'https://shop.test', 'preflight names the origin');
  check((pre.headers.get('access-control-allow-headers') || '').includes('authorization'), 'preflight allows Authorization');
  pre = await fetch(URL, { method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' } });
  eq([pre.status, pre.headers.get('access-control-allow-origin')], [403, null], 'preflight from a refused origin');
  r = await fetch(URL, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: LIST }) });
  eq(r.status, 415, 'a text/plain POST (a form a browser sends without preflight) is refused');
  r = await fetch(URL.replace(/\/graphql$/, '/v1/commands/createOrder'), { method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(tBoss) }, body: '{"input":{"customer":"x"}}' });
  eq(r.status, 404, 'REST commands are not on the public port');
  r = await fetch(URL.replace(/\/graphql$/, '/metrics'));
  eq(r.status, 404, 'metrics are not on the public port');

  // ---- key rotation at the provider, picked up without a restart
  const rotated = await admin('POST', '/admin/keys/hydra.jwt.access-token', { alg: 'ES256', kid: `rot-${tag}`, use: 'sig' });
  check(rotated && rotated.keys, 'the provider made a new ES256 key');
  let tNew = await token(alice, ['orders.read']), tries = 0;
  while (part(tNew, 0).kid !== `rot-${tag}` && tries++ < 20) { await sleep(200); tNew = await token(alice, ['orders.read']); }
  eq([part(tNew, 0).alg, part(tNew, 0).kid], ['ES256', `rot-${tag}`], 'the provider signs with the new key');
  let accepted = false;
  for (const end = Date.now() + 10000; !accepted && Date.now() < end; await sleep(200))
    accepted = (await gql(LIST, null, bearer(tNew))).status === 200;
  check(accepted, 'a token signed with the rotated-in key is accepted (JWKS refreshed on its unknown kid)');
});
