"""bench/commands.py — the command path (docs/benchmarks.md, "Commands").

Byron: one api sidecar (default workers) in front of the orders example's
component, REST over keep-alive HTTP; reference: the same durable work
published straight to JetStream (bench_sidecar_commands --target raw).
Configurations, each on a fresh component (stream) of its own:
  no app        updateOrder on the client's own aggregate, no app
  example app   the orders example app on a Unix socket and a sink beside it:
                updateOrder (the app has no before hook for it: no state),
                createOrder (its before hook checks the input: no state),
                shipOrder on a just-created order (its hooks decide on the
                exact state: the command waits for the sink to project the
                create — byron_sidecar_command_state_wait_seconds)
  before        the same with the sidecar (api and sink) of --before, the
                build before the consistency core (issue 10)
Also the sidecar's RSS (idle, after load, peak) and start-up time, and an
offered-load sweep for the latency plot."""
import json
import subprocess
import time

from lib import ExampleApp, Sidecar, orders_config, rss_kib, row


def load(ctx, target, conc, secs, url=None, workload="update", rate=0, tag=None):
    argv = [str(ctx.bin("bench_sidecar_commands")), "--target", target, "--concurrency", str(conc),
            "--seconds", str(secs), "--workload", workload, "--rate", str(rate)]
    if url:
        argv += ["--url", url]
    if tag:
        argv += ["--tag", tag]
    out = subprocess.run(argv, env=ctx.env, capture_output=True, text=True, timeout=secs * 4 + 120)
    if out.returncode != 0:
        raise RuntimeError("bench_sidecar_commands %s: %s" % (" ".join(argv[1:]), out.stderr[-2000:]))
    r = json.loads(out.stdout.strip().splitlines()[-1])
    ctx.log("  %-8s %-12s c=%-3d rate=%-6d %8.0f ops/s p50 %6.2f p99 %7.2f ms errors %d %s" % (
        target, workload, conc, rate, r["ops"], r["p50"], r["p99"], r["errors"],
        r["errors_by_status"] or ""))
    return r


def m(r):
    return {"value": r["ops"], "p50": r["p50"], "p99": r["p99"], "errors": r["errors"]}


def start_api(ctx, name, binary, app=None, sink=False, partitions=None):
    """An api sidecar (and, with sink, a sink beside it) on a fresh component."""
    cfg = orders_config(ctx.out / ("%s.json" % name), "%s%d" % (name.replace("-", ""), ctx.seq()),
                        partitions, auth=binary == ctx.sidecar)
    sk = None
    if sink:
        sk = Sidecar(ctx.procs, binary, "sink", cfg, ctx.env, name + "-sink", app_socket=app and app.sock)
    api = Sidecar(ctx.procs, binary, "api", cfg, ctx.env, name + "-api", app_socket=app and app.sock)
    return api, sk


def run(ctx):
    rows, plot = [], {}
    concs = [8] if ctx.quick else [8, 64]
    secs = ctx.secs
    refs = {}
    for c in concs:
        refs[c] = load(ctx, "raw", c, secs)

    # Byron without an app.
    api, _ = start_api(ctx, "cmd-noapp", ctx.sidecar)
    idle = api.rss()
    startup = api.startup_ms
    noapp = {c: load(ctx, "http", c, secs, api.url) for c in concs}
    after_load, peak = api.rss(), api.peak()
    for c in concs:
        rows.append(row("commands", "command, no app, c=%d" % c, m(noapp[c]), m(refs[c]), "raw JetStream publish",
                        conc=c))
    if not ctx.quick:
        plot["commands"] = sweep(ctx, api.url, noapp[8]["ops"], refs[8]["ops"])
    api.stop()

    # Byron with the example app's hooks, and a sink (hooks read the exact
    # state): each workload on a fresh component, so no sink backlog of an
    # earlier workload is in the way.
    app = ExampleApp(ctx.procs, ctx.out / "orders-app.sock")
    hooked, app_peak, waits = {}, 0, {}
    for w in ("update", "create", "create-ship"):
        for c in concs:
            api, sink = start_api(ctx, "cmd-app", ctx.sidecar, app=app, sink=True)
            hooked[(c, w)] = load(ctx, "http", c, secs, api.url, w)
            app_peak = max(app_peak, api.peak())
            if w == "create-ship":
                waits[c] = metric_histogram(ctx, api, "byron_sidecar_command_state_wait_seconds")
            api.stop()
            sink.stop()
    state_wait = waits
    for c in concs:
        rows.append(row("commands", "command, example app: updateOrder (no hook), c=%d" % c,
                        m(hooked[(c, "update")]), m(refs[c]), "raw JetStream publish", conc=c))
        rows.append(row("commands", "command, example app: createOrder (before hook), c=%d" % c,
                        m(hooked[(c, "create")]), m(refs[c]), "raw JetStream publish", conc=c))
        rows.append(row("commands", "command, example app: shipOrder (hooks on exact state), c=%d" % c,
                        m(hooked[(c, "create-ship")]), m(refs[c]), "raw JetStream publish", conc=c,
                        note="after its createOrder; waits for the sink"))

    # The build before the consistency core, same workloads, same run.
    if ctx.before:
        api, _ = start_api(ctx, "cmd-before-noapp", ctx.before)
        b = load(ctx, "http", 8, secs, api.url)
        api.stop()
        rows.append(row("before/after", "before (3466946), no app, c=8", m(b), m(refs[8]), "raw JetStream publish"))
        rows.append(row("before/after", "after (this build), no app, c=8", m(noapp[8]), m(refs[8]),
                        "raw JetStream publish"))
        api, sink = start_api(ctx, "cmd-before-app", ctx.before, app=app, sink=True)
        bu = load(ctx, "http", 8, secs, api.url, "update")
        api.stop()
        sink.stop()
        api, sink = start_api(ctx, "cmd-before-app", ctx.before, app=app, sink=True)
        bs = load(ctx, "http", 8, secs, api.url, "create-ship")
        api.stop()
        sink.stop()
        rows.append(row("before/after", "before, example app: updateOrder, c=8", m(bu), m(refs[8]),
                        "raw JetStream publish"))
        rows.append(row("before/after", "after, example app: updateOrder, c=8", m(hooked[(8, "update")]),
                        m(refs[8]), "raw JetStream publish"))
        rows.append(row("before/after", "before, example app: shipOrder after create, c=8", m(bs), m(refs[8]),
                        "raw JetStream publish", note="before: hooks read a cache that may lag"))
        rows.append(row("before/after", "after, example app: shipOrder after create, c=8",
                        m(hooked[(8, "create-ship")]), m(refs[8]), "raw JetStream publish",
                        note="after: hooks read the exact state"))
    ctx.procs.stop(app.p)

    mem = {"sidecar idle": idle, "sidecar after command load": after_load, "sidecar peak (no app)": peak,
           "sidecar peak (example app)": app_peak, "startup ms": startup, "state wait": state_wait}
    rows.append(row("memory", "api sidecar RSS idle", {"value": idle / 1024}, unit="MiB", higher_is_better=False,
                    goal="<= 10 MiB"))
    rows.append(row("memory", "api sidecar RSS peak under command load (c=%d)" % concs[-1],
                    {"value": max(peak, app_peak) / 1024}, unit="MiB", higher_is_better=False, goal="<= 16 MiB"))
    rows.append(row("memory", "api sidecar start-up to ready (NATS and cache up)", {"value": startup}, unit="ms",
                    higher_is_better=False, goal="<= 100 ms"))
    return rows, plot, mem


def sweep(ctx, url, byron_max, raw_max):
    """Latency against offered load, command path: open loop at fractions of
    each side's closed-loop maximum (16 client threads)."""
    pts = {"byron": [], "raw": []}
    for frac in (0.25, 0.5, 0.75, 0.9, 1.0):
        for side, mx in (("byron", byron_max), ("raw", raw_max)):
            rate = max(int(mx * frac), 16)
            r = load(ctx, "http" if side == "byron" else "raw", 16, 3, url if side == "byron" else None,
                     rate=rate)
            pts[side].append({"offered": rate, "achieved": r["ops"], "p50": r["p50"], "p99": r["p99"]})
    return pts


def metric_histogram(ctx, sc, name):
    """count and sum of a histogram from the sidecar's /metrics."""
    from lib import http_get

    st, body = http_get("http://127.0.0.1:%d/metrics" % sc.admin, 5)
    count = total = 0.0
    for line in body.decode(errors="replace").splitlines():
        if line.startswith(name + "_count"):
            count += float(line.split()[-1])
        elif line.startswith(name + "_sum"):
            total += float(line.split()[-1])
    return {"count": count, "mean_ms": (total / count * 1000) if count else None}
