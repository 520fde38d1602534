#!/usr/bin/env node
// Byron reference app (Node, standard library only). Same behaviour as
// ../python/app.py: see docs/app-protocol.md.
//   "reject": "why"  before hook rejects   "slow": seconds  before hook sleeps
//   "garbage": true  before hook answers non-JSON
// Custom commands emit their first declared event type with the input as data
// ("repeat": n emits n of them; "badEvent": true adds an undeclared type).
// Event handlers (sink side) as in app.py: own custom events set the data's
// model fields (+ REFAPP_EVENT_SET per type), subscribed events are mirrored into
// this component's first model through "changes", data holding "poison" fails.
// REFAPP_HOOKS (a JSON array of paths) is the hook declaration GET /v1/hooks
// answers (unset: 404, none declared; "too-large": an answer over the sidecar's
// 1 MiB limit); "posts" counts every call from the sidecar.
'use strict';
const http = require('http');
const fs = require('fs');

const SOCKET = process.env.BYRON_APP_SOCKET || '/var/run/byron/app.sock';
const SIDECAR = process.env.BYRON_SIDECAR_SOCKET || '';
const NO_HOOKS = process.env.REFAPP_NO_HOOKS === '1';
const EVENT_SET = JSON.parse(process.env.REFAPP_EVENT_SET || '{}');
const HOOKS_ENV = process.env.REFAPP_HOOKS || null;
const HOOKS = HOOKS_ENV === null || HOOKS_ENV === 'too-large' ? HOOKS_ENV : JSON.parse(HOOKS_ENV);
const stats = { before: 0, after: 0, command: 0, events: 0, posts: 0, hooksRead: 0 };
let META = {}; // the component, from GET /v1/meta at start-up

function modelFields(name) {
  const m = (META.models || []).find((x) => x.name === name);
  return new Set(m ? m.fields.map((f) => f.name) : []);
}

function pick(data, fields) {
  const out = {};
  for (const [k, v] of Object.entries(data)) if (fields.has(k)) out[k] = v;
  return out;
}

function handleEvent(res, type, req) {
  const ev = req.event || {};
  const data = ev.data || {};
  if (Object.values(data).includes('poison')) return reply(res, 500, { error: `poisoned event ${ev.id}` });
  if (req.subscribed) {
    const models = META.models || [];
    if (!models.length) return reply(res, 200, {});
    const target = models[0].name;
    return reply(res, 200, { changes: [{ model: target, id: ev.subject, set: pick(data, modelFields(target)) }] });
  }
  const model = ev.byronmodel || '';
  if ([`${model}Created`, `${model}Updated`, `${model}Deleted`].includes(type)) return reply(res, 200, {});
  const set = Object.assign(pick(data, modelFields(model)), EVENT_SET[type] || {});
  return reply(res, 200, Object.keys(set).length ? { set } : {});
}

function log(msg, fields) {
  process.stderr.write(JSON.stringify(Object.assign({ ts: new Date().toISOString(), logger: 'refapp-node', msg }, fields || {})) + '\n');
}

function reply(res, status, body, raw) {
  const data = raw ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(data);
}

function handle(req, res, body) {
  if (req.method === 'GET') {
    if (req.url === '/v1/health') return reply(res, 200, { status: 'ok' });
    if (req.url === '/v1/stats') return reply(res, 200, stats);
    if (req.url === '/v1/hooks') {
      stats.hooksRead++;
      if (HOOKS === 'too-large') return reply(res, 200, { hooks: [], padding: 'x'.repeat(1 << 20) });
      return HOOKS === null ? reply(res, 404, { error: 'no declaration' }) : reply(res, 200, { hooks: HOOKS });
    }
    return reply(res, 404, { error: 'no such path' });
  }
  stats.posts++; // every call from the sidecar
  let input;
  try { input = JSON.parse(body || '{}'); } catch (e) { return reply(res, 400, { error: 'body is not JSON' }); }
  const parts = req.url.replace(/^\/+|\/+$/g, '').split('/');
  if (parts.length < 3 || parts[0] !== 'v1' || !['commands', 'events'].includes(parts[1])) return reply(res, 404, { error: 'no such path' });
  const hook = parts.length === 4 ? parts[3] : null;
  if (parts[1] === 'events') {
    stats.events++;
    if (hook || NO_HOOKS) return hook && !NO_HOOKS ? reply(res, 200, {}) : reply(res, 404, {});
    return handleEvent(res, parts[2], input);
  }
  if (hook === 'before' || hook === 'after') {
    if (NO_HOOKS) return reply(res, 404, { error: 'no hook' });
    stats[hook]++;
    if (hook === 'after') return reply(res, 200, {});
    const inp = input.input || {};
    const finish = () => {
      if (inp.garbage) return reply(res, 200, '<html>this is not JSON', true);
      if (inp.reject) return reply(res, 200, { reject: { message: String(inp.reject), code: 'REJECTED_BY_APP' } });
      return reply(res, 200, {});
    };
    return inp.slow ? setTimeout(finish, Number(inp.slow) * 1000) : finish();
  }
  if (hook === null) {
    stats.command++;
    const emits = input.emits || [];
    if (!emits.length) return reply(res, 500, { error: `command ${parts[2]} declares no events` });
    const inp = input.input || {};
    const events = Array.from({ length: Number(inp.repeat || 1) }, () => ({ type: emits[0], data: inp }));
    if (inp.badEvent) events.push({ type: 'NotDeclared', data: {} });
    return reply(res, 200, { events });
  }
  return reply(res, 404, { error: 'no such path' });
}

function readMeta(attempt) {
  // The sidecar serves its socket before the app starts: metadata is available now.
  const req = http.request({ socketPath: SIDECAR, path: '/v1/meta', timeout: 2000 }, (res) => {
    let b = '';
    res.on('data', (c) => { b += c; });
    res.on('end', () => {
      try { const m = JSON.parse(b); META = m; log('sidecar metadata', { status: res.statusCode, component: m.component, mode: m.mode }); } catch (e) { log('sidecar metadata unreadable'); }
    });
  });
  req.on('error', () => { if (attempt < 50) setTimeout(() => readMeta(attempt + 1), 100); });
  req.end();
}

if (SIDECAR) readMeta(0);
try { fs.unlinkSync(SOCKET); } catch (e) { /* not there */ }
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => handle(req, res, body));
});
server.keepAliveTimeout = 60000;
server.listen(SOCKET, () => log('listening', { socket: SOCKET }));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
