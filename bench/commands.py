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

from lib import (ExampleApp, Sidecar, combine, interleaved, link_floor, orders_config, row, smaps_by_object,
                 smaps_summary)


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
    # A figure of refused or failed commands measures nothing: more than 1 % of
    # them failing (or none succeeding) fails the run; fewer are in the log.
    if r["errors"] and (r["ops"] <= 0 or r["errors"] > 0.01 * (r["ops"] * secs + r["errors"])):
        raise RuntimeError("bench_sidecar_commands %s: %d errors %s" % (" ".join(argv[1:]), r["errors"],
                                                                        r["errors_by_status"] or ""))
    return r


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
    rounds, secs = (1, ctx.secs) if ctx.quick else (3, max(ctx.secs // 2, 2))
    raw = lambda c: (lambda: load(ctx, "raw", c, secs))
    http = lambda c, url, w="update": (lambda: load(ctx, "http", c, secs, url, w))
    ref = "raw JetStream publish"

    # Start-up to ready (process start → /readyz 200; NATS and the cache up):
    # the median of 5 starts, each on a fresh component (its stream is made).
    starts = []
    for _ in range(1 if ctx.quick else 5):
        api, _ = start_api(ctx, "cmd-start", ctx.sidecar)
        starts.append(api.startup_ms)
        api.stop()
    startup = sorted(starts)[len(starts) // 2]

    # Byron without an app, interleaved with the reference (and, with
    # --before, the build before the consistency core) round by round.
    api, _ = start_api(ctx, "cmd-noapp", ctx.sidecar)
    idle = api.rss()
    idle_detail = smaps_rollup(api.p.pid)
    idle_objects = smaps_by_object(api.p.pid)
    ctx.log("  api sidecar idle: %d KiB; by object (KiB): %s" % (idle, smaps_summary(idle_objects)))
    floor, floor_objects = link_floor(ctx.bin("bench_link_floor"), ctx.sidecar)
    ctx.log("  its libraries alone: %d KiB; by object (KiB): %s" % (floor, smaps_summary(floor_objects)))
    before = start_api(ctx, "cmd-before-noapp", ctx.before)[0] if ctx.before else None
    noapp, refs = {}, {}
    for c in concs:
        runs = {"raw": raw(c), "byron": http(c, api.url)}
        if before and c == 8:
            runs["before"] = http(c, before.url)
        got = interleaved(rounds, runs)
        refs[c], noapp[c] = combine(got["raw"]), combine(got["byron"])
        rows.append(row("commands", "command, no app, c=%d" % c, noapp[c], refs[c], ref, conc=c))
        if "before" in got:
            b = combine(got["before"])
            rows.append(row("before/after", "before (the --before build), no app, c=8", b, refs[c], ref))
            rows.append(row("before/after", "after (this build), no app, c=8", noapp[c], refs[c], ref))
    after_load, peak = api.rss(), api.peak()
    if not ctx.quick:
        plot["commands"] = sweep(ctx, api.url, noapp[8]["value"], refs[8]["value"])
    api.stop()
    if before:
        before.stop()

    # Byron with the example app's hooks, and a sink (hooks read the exact
    # state): each workload on a fresh component, so no sink backlog of an
    # earlier workload is in the way; with --before, the same beside it.
    app = ExampleApp(ctx.procs, ctx.out / "orders-app.sock")
    app_peak, waits = 0, {}
    names = {"update": "updateOrder (no hook)", "create": "createOrder (before hook)",
             "create-ship": "shipOrder (hooks on exact state)"}
    for w in ("update", "create", "create-ship"):
        for c in concs:
            api, sink = start_api(ctx, "cmd-app", ctx.sidecar, app=app, sink=True)
            runs = {"raw": raw(c), "byron": http(c, api.url, w)}
            bapi = bsink = None
            if ctx.before and c == 8 and w != "create":
                bapi, bsink = start_api(ctx, "cmd-before-app", ctx.before, app=app, sink=True)
                runs["before"] = http(c, bapi.url, w)
            got = interleaved(rounds, runs)
            r_ref, r_b = combine(got["raw"]), combine(got["byron"])
            note = "after its createOrder; waits for the sink" if w == "create-ship" else ""
            rows.append(row("commands", "command, example app: %s, c=%d" % (names[w], c), r_b, r_ref, ref,
                            conc=c, note=note))
            if bapi:
                what = "updateOrder" if w == "update" else "shipOrder after its create"
                rows.append(row("before/after", "before, example app: %s, c=8" % what, combine(got["before"]),
                                r_ref, ref, note="before: hooks read a cache that may lag" if w != "update" else ""))
                rows.append(row("before/after", "after, example app: %s, c=8" % what, r_b, r_ref, ref,
                                note="after: hooks read the exact state" if w != "update" else ""))
                bapi.stop()
                bsink.stop()
            app_peak = max(app_peak, api.peak())
            if w == "create-ship":
                waits[c] = {"api": metric_histogram(ctx, api, "byron_sidecar_command_state_wait_seconds"),
                            "sink projection": metric_histogram(ctx, sink, "byron_sink_projection_seconds"),
                            "sink event age": metric_histogram(ctx, sink, "byron_sink_event_age_seconds")}
            api.stop()
            sink.stop()
    ctx.procs.stop(app.p)

    mem = {"sidecar idle": idle, "sidecar idle, smaps_rollup (KiB)": idle_detail,
           "sidecar idle by object (KiB)": idle_objects, "sidecar libraries alone": floor,
           "sidecar libraries alone by object (KiB)": floor_objects,
           "sidecar after command load": after_load, "sidecar peak (no app)": peak,
           "sidecar peak (example app)": app_peak, "startup ms (5 starts)": starts, "state wait": waits}
    rows.append(row("memory", "api sidecar RSS idle", {"value": idle / 1024}, unit="MiB", higher_is_better=False,
                    goal="<= 10 MiB"))
    libs = sum(v["rss"] for k, v in idle_objects.items() if ".so" in k)
    rows.append(row("memory", "api sidecar idle: anonymous (heap, stacks, relocated library data)",
                    {"value": idle_detail.get("Anonymous", 0) / 1024}, unit="MiB", higher_is_better=False,
                    note="shared libraries' pages: %.1f MiB of the RSS (%d objects; results.json has each)" % (
                        libs / 1024, sum(1 for k in idle_objects if ".so" in k))))
    rows.append(row("memory", "api sidecar's shared libraries, loaded by a program that does nothing else",
                    {"value": floor / 1024}, unit="MiB", higher_is_better=False,
                    note="bench_link_floor: the floor of the idle RSS with these libraries"))
    rows.append(row("memory", "api sidecar RSS peak under command load (c=%d)" % concs[-1],
                    {"value": max(peak, app_peak) / 1024}, unit="MiB", higher_is_better=False, goal="<= 16 MiB"))
    rows.append(row("memory", "api sidecar start-up to ready (NATS and cache up; median of %d)" % len(starts),
                    {"value": startup}, unit="ms", higher_is_better=False, goal="<= 100 ms"))
    return rows, plot, mem


def sweep(ctx, url, byron_max, raw_max):
    """Latency against offered load, command path: open loop (16 client
    threads) at the same offered rates for both sides — fractions of Byron's
    closed-loop maximum — and the reference on to half of its own."""
    pts = {"byron": [], "raw": []}
    rates = [max(int(byron_max * f), 16) for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
    for rate in rates + [int(raw_max * 0.5)]:
        for side in ("byron", "raw"):
            if side == "byron" and rate > rates[-1]:
                continue
            r = load(ctx, "http" if side == "byron" else "raw", 16, 3, url if side == "byron" else None,
                     rate=rate)
            pts[side].append({"offered": rate, "achieved": r["ops"], "p50": r["p50"], "p99": r["p99"]})
    return pts


def smaps_rollup(pid):
    """/proc/PID/smaps_rollup as {field: KiB}."""
    out = {}
    try:
        for line in open("/proc/%d/smaps_rollup" % pid):
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        pass
    return out


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
