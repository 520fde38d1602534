"""bench/fanout.py — GraphQL subscription fan-out (docs/benchmarks.md,
"Subscription fan-out"): bench/graphql/fanout.py (graphql-transport-ws
subscribers in Node, one api sidecar, orders created at a fixed rate) with
5,000 subscribers; the event-to-client latency, the deliveries counted
against events × subscribers, the stream's consumer count (one per model,
whatever the subscribers) and the RSS per subscriber."""
import json
import subprocess

from lib import ROOT, row


def run(ctx):
    conns, subs, rate, secs = (5, 10, 5, 2) if ctx.quick else (50, 100, 5, 10)
    out = subprocess.run(["python3", str(ROOT / "bench/graphql/fanout.py"), str(ctx.build), "--connections",
                          str(conns), "--subs", str(subs), "--rate", str(rate), "--seconds", str(secs)],
                         env=ctx.env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("fanout.py: %s" % out.stderr[-2000:])
    d = json.loads(out.stdout.strip().splitlines()[-1])
    ctx.log("  %s" % json.dumps(d))
    n = d["subscribers"]
    per_sub_kib = (d["sidecar_rss_mib"] - d["sidecar_rss_idle_mib"]) * 1024 / n
    rows = [row("fanout", "%d subscribers, %d events: deliveries" % (n, d["events"]),
                {"value": d["deliveries"], "p50": d["p50"], "p99": d["p99"], "rss": d["sidecar_rss_mib"] * 1024},
                {"value": d["expected"]}, "events × subscribers", unit="deliveries",
                note="%d stream consumer(s); %.1f KiB RSS per subscriber" % (d["stream_consumers"] or 0,
                                                                            per_sub_kib))]
    return rows, {}, {**d, "rss_per_subscriber_kib": round(per_sub_kib, 2)}
