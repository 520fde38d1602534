"""bench/graphql_engine.py — the GraphQL layer against the servers users could
pick instead (docs/benchmarks.md, "GraphQL engine").

The same schema (Byron's, generated from bench/graphql/shop.json: the Node
peers load its SDL, the Rust one declares the same types), the same in-memory
data, no database behind any of them, the same machine, one run:
  Byron          bench_graphql_engine: the api sidecar's HTTP server, worker
                 pool and GraphQL engine with in-memory resolvers
  graphql-js     graphql 16 + graphql-http on node:http
  mercurius-jit  mercurius 16 (fastify 5) with graphql-jit
  async-graphql  async-graphql 7 on axum 0.8 (bench/peers/rust)
Every server must first answer each query with the same data; then wrk
(-t2 -c8, closed loop) drives each query at each server in turn, in rounds
(every server loaded once per round), so that all see the same moments of
a shared machine."""
import json
import os
import random
import re
import subprocess
import time
from pathlib import Path

from lib import CACHE, ROOT, combine, free_port, http_post_json, interleaved, rss_kib, row, wait_until

QUERIES = {
    "by id, nested": ("query($id: ID!) { order(id: $id) { id version customer total status placedAt "
                      "lines { id sku qty } } }", "id"),
    "list of 100": ("{ orders(first: 100) { edges { cursor node { id customer total status lines { sku qty } } } "
                    "pageInfo { hasNextPage endCursor } } }", None),
    "introspection": ("{ __type(name: \"Order\") { name kind fields { name args { name } type { name kind ofType "
                      "{ name kind ofType { name kind } } } } } }", None),
    "mutation": ("mutation($id: ID!) { updateOrder(id: $id, input: {total: 3.5}) { id version sequence } }", "id"),
}
ORDERS = 1000

LUA = """
local query = %s
local var = %s
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body
  if var then
    body = '{"query":' .. query .. ',"variables":{"' .. var .. '":"o' .. math.random(0, %d) .. '"}}'
  else
    body = '{"query":' .. query .. '}'
  end
  return wrk.format(nil, "/graphql", nil, body)
end
"""


def before_engine(ctx):
    """The engine server of the --before build: beside its byron-sidecar (same build directory)."""
    if not ctx.before:
        return None
    p = Path(ctx.before).resolve().parent / "bench_graphql_engine"
    if not p.is_file():
        raise RuntimeError("--before: no bench_graphql_engine beside %s" % ctx.before)
    return p


def servers(ctx, sdl):
    node = CACHE / "peers/node/node_modules"
    peers = ROOT / "bench/peers/node"
    env = {"NODE_PATH": str(node), "NODE_ENV": "production"}
    engine = lambda binary: [str(binary), "--config", str(ROOT / "bench/graphql/shop.json"), "--orders", str(ORDERS),
                             "--port"]
    before = before_engine(ctx)
    return [("Byron", engine(ctx.bin("bench_graphql_engine")), {})] + \
        ([("Byron (before)", engine(before), {})] if before else []) + [
        ("graphql-js", ["node", str(peers / "graphql-js.cjs"), "--schema", str(sdl), "--orders", str(ORDERS),
                        "--port"], env),
        ("mercurius-jit", ["node", str(peers / "mercurius.cjs"), "--schema", str(sdl), "--orders", str(ORDERS),
                           "--port"], env),
        ("async-graphql", [str(CACHE / "bin/async-graphql-peer"), "--orders", str(ORDERS), "--port"], {}),
    ]


def wrk(ctx, port, name, secs):
    q, var = QUERIES[name]
    script = ctx.out / ("wrk-%s.lua" % re.sub(r"\W+", "-", name))
    script.write_text(LUA % (json.dumps(json.dumps(q)), json.dumps(var) if var else "nil", ORDERS - 1))
    out = subprocess.run(["wrk", "-t2", "-c8", "-d%ds" % secs, "--latency", "-s", str(script),
                          "http://127.0.0.1:%d/graphql" % port], capture_output=True, text=True,
                         timeout=secs + 60).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)

    def pct(p):
        mm = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, out, re.M)
        if not mm:
            return None
        v = float(mm.group(1))
        return v / 1000 if mm.group(2) == "us" else v * 1000 if mm.group(2) == "s" else v

    return {"value": float(m.group(1)) if m else None, "p50": pct(50), "p99": pct(99),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errs.group(1) if errs else ""}


def answer(port, name):
    q, var = QUERIES[name]
    body = {"query": q}
    if var:
        body["variables"] = {var: "o7"}
    st, resp = http_post_json("http://127.0.0.1:%d/graphql" % port, body)
    if st != 200 or not isinstance(resp, dict) or resp.get("errors") or "data" not in resp:
        raise RuntimeError("answered %s %r" % (st, resp if not isinstance(resp, bytes) else resp[:300]))
    return resp["data"]


def normalise(data):
    """Introspection lists fields in declaration order everywhere; compare as sets of JSON texts."""
    if isinstance(data, dict) and "__type" in data and data["__type"]:
        t = dict(data["__type"])
        t["fields"] = sorted(json.dumps(f, sort_keys=True) for f in t["fields"])
        return {"__type": t}
    return data


def run(ctx):
    sdl = ctx.out / "shop.graphql"
    sdl.write_text(subprocess.run([ctx.sidecar, "--print-schema", "--config", str(ROOT / "bench/graphql/shop.json")],
                                  capture_output=True, text=True, check=True).stdout)
    rounds, secs = (1, ctx.secs) if ctx.quick else (3, max(ctx.secs // 2, 2))
    ports, procs, answers = {}, {}, {}
    for name, argv, env in servers(ctx, sdl):  # all running at once, loaded in turn
        port = free_port()
        p = ctx.procs.start("graphql-" + name, argv + [str(port)], env=env)
        wait_until(name + " listening", lambda: p.poll() is not None or
                   http_post_json("http://127.0.0.1:%d/graphql" % port, {"query": "{__typename}"}, 2)[0] == 200
                   if port_open(port) else False, 60)
        if p.poll() is not None:
            raise RuntimeError("%s exited %d" % (name, p.returncode))
        ports[name], procs[name] = port, p
        answers[name] = {q: normalise(answer(port, q)) for q in QUERIES}
    for name in answers:
        for q in QUERIES:
            if answers[name][q] != answers["Byron"][q]:
                raise RuntimeError("%s answers %r differently: %s vs Byron's %s" % (
                    name, q, json.dumps(answers[name][q])[:300], json.dumps(answers["Byron"][q])[:300]))
    results = {}
    for q in QUERIES:
        for name in ports:
            wrk(ctx, ports[name], q, 1)  # warm-up: JIT compilers, connection pools
        got = interleaved(rounds, {name: (lambda port=port: wrk(ctx, port, q, secs)) for name, port in ports.items()})
        for name in ports:
            results[(name, q)] = combine([dict(r, ops=r["value"], n=r["value"] * secs, seconds=secs)
                                          for r in got[name]])
            results[(name, q)]["non2xx"] = sum(r["non2xx"] for r in got[name])
            ctx.log("  %-14s %-14s %9.0f req/s p50 %6.2f p99 %7.2f ms non-2xx %d rounds %s" % (
                name, q, results[(name, q)]["value"], results[(name, q)]["p50"] or 0,
                results[(name, q)]["p99"] or 0, results[(name, q)]["non2xx"], results[(name, q)]["rounds"]))
    rss = {name: rss_kib(p.pid) for name, p in procs.items()}
    for p in procs.values():
        ctx.procs.stop(p)
    rows = []
    for q in QUERIES:
        b = dict(results[("Byron", q)], rss=rss["Byron"])
        for peer in ("graphql-js", "mercurius-jit", "async-graphql"):
            ref = dict(results[(peer, q)], rss=rss[peer])
            rows.append(row("graphql", "%s vs %s" % (q, peer), b, ref, peer, unit="req/s"))
        if "Byron (before)" in ports:
            ref = dict(results[("Byron (before)", q)], rss=rss["Byron (before)"])
            rows.append(row("before/after", "graphql %s: this build vs the --before build" % q, b, ref,
                            "--before", unit="req/s"))
    return rows, {}, {"rss_kib": rss}


def port_open(port):
    import socket

    s = socket.socket()
    s.settimeout(0.5)
    try:
        return s.connect_ex(("127.0.0.1", port)) == 0
    finally:
        s.close()
