#!/usr/bin/env python3
"""fanout.py — subscription fan-out benchmark: many subscribers on one replica.

  bench/graphql/fanout.py BUILD_DIR [--connections 50] [--subs 100] [--rate 5] [--seconds 10]

Starts one api sidecar (anonymous rules) against $BYRON_TESTENV's servers (or a
testenv of its own), connects CONNECTIONS x SUBS subscriptions to orderEvents
(bench/graphql/fanout.cjs), then creates orders at RATE per second for SECONDS
and prints deliveries and the event-to-client latency percentiles, the sidecar's
RSS and the stream's consumer count (one per model, whatever the subscribers).
Figures: docs/benchmarks.md, "Subscription fan-out"."""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "sidecar/tests"))
from graphql_clients_it import env_file, free_port, node_modules, wait_ready  # noqa: E402


def post(url, query):
    req = urllib.request.Request(url, json.dumps({"query": query}).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--subs", type=int, default=100)
    ap.add_argument("--rate", type=float, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    own_env = None
    if not os.environ.get("BYRON_TESTENV"):
        own_env = tempfile.mkdtemp(prefix="byron-fanout-env-")
        subprocess.run([os.path.join(SRC, "scripts/testenv"), "start", own_env], check=True)
        os.environ["BYRON_TESTENV"] = os.path.join(own_env, "env")
    tenv = env_file(os.environ["BYRON_TESTENV"])
    work = tempfile.mkdtemp(prefix="byron-fanout-")
    component = f"fanout-{os.getpid()}"
    with open(os.path.join(SRC, "sidecar/tests/data/orders.json")) as f:
        cfg = json.load(f)
    cfg["component"], cfg["namespace"] = component, "bench"
    config = os.path.join(work, "component.json")
    with open(config, "w") as f:
        json.dump(cfg, f)
    port, admin = free_port(), free_port()
    log = os.path.join(work, "sidecar.log")
    sidecar = subprocess.Popen(
        [os.path.join(a.build, "sidecar/byron-sidecar"), "--mode=api", "--config", config,
         "--nats-url", tenv["BYRON_NATS_URL"], "--mongo-uri", tenv["BYRON_MONGO_URI"], "--http-port", str(port),
         "--admin-port", str(admin), "--bind", "127.0.0.1", "--sidecar-socket", os.path.join(work, "sc.sock"),
         "--log-level", "warn"], stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/graphql"
    subs = None
    try:
        wait_ready(admin, sidecar, log)
        post(url, 'mutation { createOrder(input: {customer: "warm"}) { id } }')
        rss_idle = rss_mib(sidecar.pid)
        env = {**os.environ, "NODE_PATH": node_modules(), "GRAPHQL_URL": url,
               "CONNECTIONS": str(a.connections), "SUBS": str(a.subs)}
        subs = subprocess.Popen(["node", os.path.join(SRC, "bench/graphql/fanout.cjs")], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if subs.stdout.readline().strip() != "ready":
            sys.exit("subscribers did not get ready")
        n = int(a.rate * a.seconds)
        start = time.monotonic()
        for i in range(n):
            time.sleep(max(0.0, start + i / a.rate - time.monotonic()))
            post(url, f'mutation {{ createOrder(input: {{id: "f{i}-{os.getpid()}", customer: "c{i % 10}"}}) {{ id }} }}')
        rss = rss_mib(sidecar.pid)
        subs.stdin.close()
        result = json.loads(subs.stdout.readline())
        stream = "BYRON_bench_" + component.replace("-", "_")
        with urllib.request.urlopen(f"{tenv['BYRON_NATS_MONITOR_URL']}/jsz?streams=true&accounts=true", timeout=5) as r:
            jsz = json.load(r)
        consumers = [s["state"]["consumer_count"] for acc in jsz.get("account_details", [])
                     for s in acc.get("stream_detail", []) if s["name"] == stream]
        print(json.dumps({"subscribers": a.connections * a.subs, "events": n, **result,
                          "sidecar_rss_mib": round(rss, 1), "sidecar_rss_idle_mib": round(rss_idle, 1),
                          "stream_consumers": consumers[0] if consumers else None}))
    finally:
        if subs and subs.poll() is None:
            subs.kill()
        sidecar.send_signal(signal.SIGTERM)
        sidecar.wait(timeout=30)
        if own_env:
            subprocess.run([os.path.join(SRC, "scripts/testenv"), "stop", own_env])


if __name__ == "__main__":
    main()
