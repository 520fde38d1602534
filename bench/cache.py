"""bench/cache.py — cache reads through the api sidecar against the same query
sent directly with libmongoc to the same database (docs/benchmarks.md,
"Cache reads"), 10,000 and 100,000 documents.

The collection and its indexes are the sink's own: a real sink projects a
first order (creating the indexes the component's `indexed` fields imply),
then bench_cache adds N orders of the same shape. Both sides: 8 client
threads, closed loop, same random keys; the plans the database uses are
recorded (explain). With --before, an api of that build reads the same
database beside this one, interleaved round by round (rows "before/after")."""
import json
import subprocess

from lib import Sidecar, combine, http_post_json, interleaved, orders_config, row, wait_until


def bc(ctx, *args, timeout=600):
    out = subprocess.run([str(ctx.bin("bench_cache"))] + [str(a) for a in args], env=ctx.env,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("bench_cache %s: %s" % (" ".join(map(str, args)), out.stderr[-2000:]))
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def plan_summary(explain):
    """The PostgreSQL plan's node types and index names (FerretDB's explain)."""
    found = []

    def walk(p):
        if isinstance(p, dict):
            if "Node Type" in p:
                found.append(p["Node Type"] + (" on " + p["Index Name"] if "Index Name" in p else ""))
            for v in p.values():
                walk(v)
        elif isinstance(p, list):
            for v in p:
                walk(v)

    walk(explain)
    pushdown = explain.get("pushdown") if isinstance(explain, dict) else None
    return {"plan": found, "pushdown": pushdown}


def run(ctx):
    rows, plots, extra = [], {}, {}
    sizes = [1000] if ctx.quick else [10000, 100000]
    for n in sizes:
        comp = "cache%d" % ctx.seq()
        cfg = orders_config(ctx.out / ("%s.json" % comp), comp)
        api = Sidecar(ctx.procs, ctx.sidecar, "api", cfg, ctx.env, comp + "-api")
        sink = Sidecar(ctx.procs, ctx.sidecar, "sink", cfg, ctx.env, comp + "-sink")
        st, _ = http_post_json(api.url + "/v1/commands/createOrder",
                               {"id": "probe", "input": {"customer": "c0", "total": 1.5}})
        if st != 200:
            raise RuntimeError("createOrder: %s" % st)
        q = {"query": "{ order(id: \"probe\") { id version } }"}
        wait_until("the probe projected", lambda: (http_post_json(api.url + "/graphql", q)[1] or {}).get(
            "data", {}).get("order"), 30)
        sink.stop()
        db = "byron_" + comp
        customers = max(n // 100, 1)
        ctx.log("  seeding %d orders" % n)
        bc(ctx, "--db", db, "--seed", n, "--customers", customers, timeout=1800)
        st, ans = http_post_json(api.url + "/graphql", {"query": "{ order(id: \"s7\") { id customer total status "
                                                                 "version } }"})
        want = {"id": "s7", "customer": "c%d" % (7 % customers), "total": 7.5, "status": "SHIPPED", "version": 1}
        if st != 200 or ans.get("data", {}).get("order") != want:
            raise RuntimeError("the sidecar reads the seeded order s7 as %r, not %r" % (ans, want))
        plans = {e["query"]: plan_summary(e["explain"]) for e in bc(ctx, "--db", db, "--explain")}
        extra["plans, %d documents" % n] = plans
        ctx.log("  plans: %s" % json.dumps(plans))
        before = Sidecar(ctx.procs, ctx.before, "api", cfg, ctx.env, comp + "-api-before") if ctx.before else None
        res = {}
        rounds, secs = (1, ctx.secs) if ctx.quick else (3, max(ctx.secs // 2, 2))
        for query in ("byid", "list"):
            load = lambda target: (lambda: bc(ctx, "--db", db, "--target", target, "--query", query, "--url", api.url,
                                              "--n", n, "--customers", customers, "--concurrency", 8, "--seconds",
                                              secs)[0])
            runs = {"mongoc": load("mongoc"), "http": load("http")}
            if before:
                runs["before"] = (lambda: bc(ctx, "--db", db, "--target", "http", "--query", query, "--url",
                                             before.url, "--n", n, "--customers", customers, "--concurrency", 8,
                                             "--seconds", secs)[0])
            got = interleaved(rounds, runs)
            for target in runs:
                res[(query, target)] = combine(got[target])
                r = res[(query, target)]
                ctx.log("  %-6s %-5s %7d docs %8.0f ops/s p50 %6.2f p99 %7.2f ms errors %d rounds %s" % (
                    target, query, n, r["value"], r["p50"], r["p99"], r["errors"], r["rounds"]))
            name = {"byid": "query by id", "list": "list: filter, sort, first 20"}[query]
            rows.append(row("cache", "%s, %d documents (GraphQL through the sidecar)" % (name, n),
                            dict(res[(query, "http")], rss=api.rss()), res[(query, "mongoc")],
                            "direct libmongoc", goal=">= 90 %, p50 <= +0.2 ms"))
            if before:
                rows.append(row("before/after", "cache %s, %d documents: before (--before)" % (name, n),
                                res[(query, "before")], res[(query, "mongoc")], "direct libmongoc"))
                rows.append(row("before/after", "cache %s, %d documents: after (this build)" % (name, n),
                                res[(query, "http")], res[(query, "mongoc")], "direct libmongoc"))
        if n == sizes[0] and not ctx.quick:
            plots["query"] = sweep(ctx, db, api.url, n, customers, res[("byid", "http")]["value"],
                                   res[("byid", "mongoc")]["value"])
        api.stop()
        if before:
            before.stop()
    return rows, plots, extra


def sweep(ctx, db, url, n, customers, byron_max, direct_max):
    """Latency against offered load, query by id: open loop (16 client
    threads) at the same offered rates for both sides — fractions of the
    sidecar's closed-loop maximum — and libmongoc on to its own maximum."""
    pts = {"byron (GraphQL by id)": [], "direct libmongoc": []}
    rates = [max(int(byron_max * f), 16) for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
    for rate in rates + ([int(direct_max)] if direct_max > byron_max else []):
        for side, target in (("byron (GraphQL by id)", "http"), ("direct libmongoc", "mongoc")):
            if target == "http" and rate > rates[-1]:
                continue
            r = bc(ctx, "--db", db, "--target", target, "--query", "byid", "--url", url, "--n", n, "--customers",
                   customers, "--concurrency", 16, "--seconds", 3, "--rate", rate)[0]
            pts[side].append({"offered": rate, "achieved": r["ops"], "p50": r["p50"], "p99": r["p99"]})
    return pts
