"""bench/sink.py — projection at the database's speed (docs/benchmarks.md,
"Sink projection").

Throughput: bench_sink drains a backlog (aggregates × 10 events) with R sink
replicas on a P-partition stream, against the same documents written with raw
conditional upserts (filter {_id, version: v-1}, what the sink's guard
writes) by P threads — the parallelism the partitions give the sink.
Lag: R sinks follow a stream that bench_sidecar_commands --target raw feeds
at 50 % and 90 % of that configuration's drain rate (open loop); the lag of an
event is the sink's byron_sink_event_age_seconds (from the event's time, set
before its append, to its projection)."""
import json
import subprocess
import time

from lib import Sidecar, http_get, orders_config, row, wait_until


def histogram(sinks, name):
    """Cumulative buckets {le: count} summed over the sinks' /metrics."""
    buckets = {}
    for s in sinks:
        st, body = http_get("http://127.0.0.1:%d/metrics" % s.admin, 5)
        for line in body.decode(errors="replace").splitlines():
            if line.startswith(name + "_bucket{"):
                le = line.split('le="')[1].split('"')[0]
                le = float("inf") if le == "+Inf" else float(le)
                buckets[le] = buckets.get(le, 0) + float(line.split()[-1])
    return buckets


def quantile(before, after, q):
    """The q-quantile (ms) of what was observed between two snapshots,
    interpolated within its bucket."""
    les = sorted(after)
    counts = [after[le] - before.get(le, 0) for le in les]
    total = counts[-1] if counts else 0
    if total <= 0:
        return None
    want, prev_le, prev_c = q * total, 0.0, 0.0
    for le, c in zip(les, counts):
        if c >= want:
            if le == float("inf"):
                return prev_le * 1000
            frac = (want - prev_c) / (c - prev_c) if c > prev_c else 1
            return (prev_le + (le - prev_le) * frac) * 1000
        prev_le, prev_c = le, c
    return None


def metric_sum(sinks, name):
    total = 0.0
    for s in sinks:
        st, body = http_get("http://127.0.0.1:%d/metrics" % s.admin, 5)
        for line in body.decode(errors="replace").splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.split()[-1])
    return total


def publish(ctx, comp, partitions, rate, secs):
    argv = [str(ctx.bin("bench_sidecar_commands")), "--target", "raw", "--component", comp, "--partitions",
            str(partitions), "--concurrency", "32", "--seconds", str(secs), "--rate", str(rate), "--tag",
            "lag%d" % ctx.seq()]
    out = subprocess.run(argv, env=ctx.env, capture_output=True, text=True, timeout=secs * 4 + 120)
    if out.returncode != 0:
        raise RuntimeError("publish: %s" % out.stderr[-1000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def lag(ctx, partitions, replicas, rates, secs):
    comp = "lag%d" % ctx.seq()
    cfg = orders_config(ctx.out / ("%s.json" % comp), comp, partitions)
    warm = publish(ctx, comp, partitions, 20, 1)  # the stream exists before the sinks bind
    sinks = [Sidecar(ctx.procs, ctx.sidecar, "sink", cfg, ctx.env, "%s-sink%d" % (comp, i)) for i in range(replicas)]
    settle = lambda: wait_until("the sinks caught up", lambda: metric_sum(sinks, "byron_sink_consumer_pending") == 0
                                and metric_sum(sinks, 'byron_sink_events_total{') >= published[0], 120)
    published = [warm["n"]]
    settle()
    out = {}
    for rate in rates:
        before = histogram(sinks, "byron_sink_event_age_seconds")
        p = publish(ctx, comp, partitions, rate, secs)
        published[0] += p["n"]
        settle()
        after = histogram(sinks, "byron_sink_event_age_seconds")
        out[rate] = {"offered": rate, "published": p["ops"], "p50": quantile(before, after, 0.5),
                     "p99": quantile(before, after, 0.99)}
        ctx.log("  lag P=%d R=%d at %d events/s: p50 %s p99 %s ms" % (partitions, replicas, rate,
                                                                    fmt(out[rate]["p50"]), fmt(out[rate]["p99"])))
    for s in sinks:
        s.stop()
    return out


def fmt(v):
    return "—" if v is None else "%.1f" % v


def run(ctx):
    rows, extra = [], {}
    configs = [(4, 1)] if ctx.quick else [(1, 1), (1, 2), (4, 1), (4, 2)]
    aggregates = 50 if ctx.quick else 400
    for partitions, replicas in configs:
        out = subprocess.run([str(ctx.bin("bench_sink")), "--aggregates", str(aggregates), "--updates", "9",
                              "--threads", "8", "--partitions", str(partitions), "--replicas", str(replicas)],
                             env={**ctx.env, "BYRON_SIDECAR": ctx.sidecar}, capture_output=True, text=True,
                             timeout=1800)
        if out.returncode != 0:
            raise RuntimeError("bench_sink: %s %s" % (out.stdout[-500:], out.stderr[-1000:]))
        d = json.loads(out.stdout.strip().splitlines()[-1])
        if not d["sink_exit_ok"]:
            ctx.procs.failures.append(("bench_sink's sinks", "exited non-zero"))
        ctx.log("  drain P=%d R=%d: sink %.0f events/s, raw conditional %.0f, raw %.0f (%d events)" % (
            partitions, replicas, d["sink_eps"], d["raw_conditional_eps"], d["raw_eps"], d["events"]))
        rates = [max(int(d["sink_eps"] * f), 10) for f in (0.5, 0.9)]
        lags = lag(ctx, partitions, replicas, rates, 2 if ctx.quick else 5)
        extra["P=%d R=%d" % (partitions, replicas)] = {"drain": d, "lag": lags}
        rows.append(row("sink", "projection, %d partition%s, %d sink replica%s" % (
            partitions, "s" if partitions > 1 else "", replicas, "s" if replicas > 1 else ""),
            {"value": d["sink_eps"], "rss": d["sink_rss_peak_kib"]}, {"value": d["raw_conditional_eps"]},
            "raw conditional upserts, %d thread%s" % (d["raw_threads"], "s" if d["raw_threads"] > 1 else ""),
            unit="events/s", goal=">= 80 %"))
        for f, rate in zip(("50", "90"), rates):
            lg = lags[rate]
            rows.append(row("sink", "projection lag at %s %% of max (%d events/s), P=%d R=%d" % (
                f, rate, partitions, replicas), {"value": lg["published"], "p50": lg["p50"], "p99": lg["p99"]},
                unit="events/s", note="append → visible in the cache"))
        time.sleep(0)
    return rows, {}, extra
