#!/usr/bin/env python3
"""run.py — GraphQL benchmark: byron-sidecar vs a graphql-js server over the
mongodb driver (baseline.cjs), side by side in one run, on the same FerretDB
database holding N orders; wrk drives a by-id query and a list query at each.

  bench/graphql/run.py BUILD_DIR [--n 10000] [--seconds 10] [--connections 8] [--threads 2]

Uses $BYRON_TESTENV's servers if set, else starts a testenv of its own (and
stops it). Prints a Markdown table (docs/benchmarks.md, "GraphQL")."""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "sidecar/tests"))
from graphql_clients_it import free_port  # noqa: E402


def post(url, query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def wait_for(url, proc, what, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"{what} exited ({proc.returncode})")
        try:
            if post(url, "{ __typename }").get("data"):
                return
        except Exception:
            pass
        time.sleep(0.05)
    sys.exit(f"{what} not answering within {deadline} s")


def ms(v):
    n, unit = float(re.match(r"[\d.]+", v).group()), re.sub(r"[\d.]+", "", v)
    return n * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def wrk(url, script, a, env):
    out = subprocess.run(["wrk", "-t", str(a.threads), "-c", str(a.connections), "-d", f"{a.seconds}s", "--latency",
                          "--timeout", "10s",
                          "-s", os.path.join(SRC, "bench/graphql", script), url],
                         env=env, capture_output=True, text=True, check=True).stdout
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": ms(lat["50"]), "p90": ms(lat["90"]), "p99": ms(lat["99"]),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "sockerr": errs.group(1) if errs else ""}


def rss(pid):
    st = open(f"/proc/{pid}/status").read()
    kb = lambda k: int(re.search(rf"{k}:\s+(\d+)", st).group(1)) / 1024
    return kb("VmRSS"), kb("VmHWM")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--customers", type=int, default=100)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=8)
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="byron-bench-gql-")
    procs, own_env = [], None
    tenv = os.environ.get("BYRON_TESTENV")
    if not tenv:
        own_env = os.path.join(work, "tenv")
        subprocess.run([os.path.join(SRC, "scripts/testenv"), "start", own_env], check=True, stdout=subprocess.DEVNULL)
        tenv = os.path.join(own_env, "env")
    try:
        env_vals = dict(l.rstrip("\n").split("=", 1) for l in open(tenv) if "=" in l)
        nm = os.path.join(os.environ.get("BYRON_CACHE", os.path.expanduser("~/.cache/byron")), "node/current/node_modules")
        env = {**os.environ, "NODE_PATH": nm, "BENCH_N": str(a.n), "BENCH_CUSTOMERS": str(a.customers)}
        cfg = json.load(open(os.path.join(SRC, "sidecar/tests/data/orders.json")))
        cfg["component"], cfg["namespace"] = "benchgql", "bench"
        for f in cfg["models"][0]["fields"]:
            if f["name"] == "total":
                f["indexed"] = True  # sortable
        config = os.path.join(work, "component.json")
        json.dump(cfg, open(config, "w"))
        db = "byron_benchgql"
        subprocess.run(["node", os.path.join(SRC, "bench/graphql/seed.cjs"), env_vals["BYRON_MONGO_URI"], db,
                        str(a.n), str(a.customers)], env=env, check=True)
        sp, bp = free_port(), free_port()
        sidecar = subprocess.Popen([os.path.join(a.build, "sidecar/byron-sidecar"), "--mode=api", "--config", config,
                                    "--nats-url", env_vals["BYRON_NATS_URL"], "--mongo-uri", env_vals["BYRON_MONGO_URI"],
                                    "--http-port", str(sp), "--bind", "127.0.0.1", "--sidecar-socket", "",
                                    "--workers", str(a.workers), "--log-level", "warn"],
                                   stdout=open(os.path.join(work, "sidecar.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(sidecar)
        surl = f"http://127.0.0.1:{sp}/graphql"
        wait_for(surl, sidecar, "sidecar")
        sdl = os.path.join(work, "schema.graphql")
        urllib.request.urlretrieve(surl + "/schema.graphql", sdl)
        baseline = subprocess.Popen(["node", os.path.join(SRC, "bench/graphql/baseline.cjs"), str(bp),
                                     env_vals["BYRON_MONGO_URI"], db, sdl], env=env,
                                    stdout=open(os.path.join(work, "baseline.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(baseline)
        burl = f"http://127.0.0.1:{bp}/graphql"
        wait_for(burl, baseline, "baseline")
        # Both must answer the same data before they are timed.
        q1 = "query($id: ID!) { order(id: $id) { id version customer status total count lines { sku qty } } }"
        q2 = ("query($c: String) { orders(first: 20, filter: {customer: {eq: $c}}, orderBy: [{field: TOTAL, "
              "direction: DESC}]) { edges { node { id customer total } } pageInfo { hasNextPage } } }")
        q0 = '{ __type(name: "Order") { name fields { name type { name kind ofType { name } } } } }'
        for q, v in ((q0, {}), (q1, {"id": "o000042"}), (q2, {"c": "c007"})):
            x, y = post(surl, q, v), post(burl, q, v)
            if x != y or "errors" in x:
                sys.exit(f"sidecar and baseline disagree:\n{json.dumps(x)[:600]}\n{json.dumps(y)[:600]}")
        idle = rss(sidecar.pid)
        rows = []
        for name, script in (("no cache (`__type` introspection)", "nodb.lua"), ("by id (+ 2 line refs)", "byid.lua"),
                             ("list (filter + orderBy, first 20)", "list.lua")):
            for who, url in (("byron-sidecar", f"http://127.0.0.1:{sp}"), ("graphql-js + mongodb", f"http://127.0.0.1:{bp}")):
                r = wrk(url, script, a, env)
                rows.append((name, who, r))
        after = rss(sidecar.pid)
        brss = rss(baseline.pid)
        print(f"\nN = {a.n} orders, {a.customers} customers; wrk -t{a.threads} -c{a.connections} -d{a.seconds}s; "
              f"sidecar --workers {a.workers}\n")
        print("| query | server | req/s | p50 ms | p90 ms | p99 ms | non-2xx |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for name, who, r in rows:
            print(f"| {name} | {who} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p90']:.2f} | {r['p99']:.2f} | {r['non2xx']} |")
        print(f"\nsidecar RSS: {idle[0]:.1f} MiB idle (seeded, before load), {after[0]:.1f} MiB after, "
              f"{after[1]:.1f} MiB peak; baseline node RSS {brss[0]:.1f} MiB after, {brss[1]:.1f} MiB peak")
    finally:
        for pr in procs:
            pr.send_signal(signal.SIGTERM)
            try:
                pr.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pr.kill()
        if own_env:
            subprocess.run([os.path.join(SRC, "scripts/testenv"), "stop", own_env], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
