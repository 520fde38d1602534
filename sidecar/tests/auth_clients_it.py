#!/usr/bin/env python3
"""auth_clients_it.py — identity and access proven against a real OpenID Connect
provider (Ory Hydra, started by scripts/testenv) with real clients.

Starts a byron-sidecar (api mode, the Python reference app) whose component
trusts the testenv's Hydra and declares these rules, then runs
clients/auth_check.cjs against it:

  orderLines, orderLine           anyone, anonymous included
  orders, order, orderEvents      scope orders.read: the caller's own rows
                                  (customer == sub); orders.admin: every row
  createOrder, updateOrder        scope orders.write: own rows only
  every operation                 scope orders.admin
  browsers                        from https://shop.test only

Clock skew is 0 and the key refresh interval 500 ms, so expiry and key rotation
show within seconds. The sidecar, its sink and the app must stop cleanly (exit 0, no sanitizer report).
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from graphql_clients_it import env_file, free_port, node_modules, sanitizer_report, start_sink, stop, wait_ready

RULES = [
    {"operations": ["orderLines", "orderLine"], "anonymous": True},
    {"operations": ["orders", "order", "orderEvents"],
     "claims": [{"claim": "scp", "equals": "orders.read"}],
     "match": [{"field": "customer", "claim": "sub"}]},
    {"operations": ["createOrder", "updateOrder"],
     "claims": [{"claim": "scp", "equals": "orders.write"}],
     "match": [{"field": "customer", "claim": "sub"}]},
    {"operations": ["*"], "claims": [{"claim": "scp", "anyOf": ["orders.admin"]}]},
]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def body_flood(port, pid, n=200, size=1 << 20):
    """n clients each POST a 1 MiB body at once: the in-flight budget (64 MiB by
    default) admits what it can hold and answers the rest 503 before buffering;
    the sidecar's RSS is sampled meanwhile. Returns (statuses, peak RSS MiB)."""
    statuses, peak, stop_ev = [], [0.0], threading.Event()
    body = b"{" + b" " * (size - 2) + b"}"
    head = (f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
    lock = threading.Lock()

    def client():
        st = 0
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
                c.sendall(head + body)
                line = c.makefile("rb").readline().decode(errors="replace").split()
                st = int(line[1]) if len(line) > 1 else 0
        except OSError:
            st = -1
        with lock:
            statuses.append(st)

    def sample():
        while not stop_ev.is_set():
            peak[0] = max(peak[0], rss_mib(pid))
            stop_ev.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    clients = [threading.Thread(target=client) for _ in range(n)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(120)
    stop_ev.set()
    sampler.join()
    return statuses, peak[0]


def main():
    src = os.environ["BYRON_SOURCE_DIR"]
    binary = os.path.join(os.environ["BYRON_BINARY_DIR"], "sidecar", "byron-sidecar")
    tenv = env_file(os.environ["BYRON_TESTENV"])
    nm = node_modules()
    with urllib.request.urlopen(tenv["BYRON_OIDC_ISSUER"] + ".well-known/openid-configuration", timeout=30) as r:
        issuer = json.load(r)["issuer"]
    work = tempfile.mkdtemp(prefix="byron-auth-it-")
    component = f"auth-{os.getpid()}-{int(time.time()) % 100000}"
    with open(os.path.join(src, "sidecar/tests/data/orders.json")) as f:
        cfg = json.load(f)
    cfg["component"], cfg["namespace"] = component, "it"
    cfg["auth"] = {"issuer": issuer, "audiences": ["orders-api"], "clockSkewSeconds": 0,
                   "allowedOrigins": ["https://shop.test"], "rules": RULES}
    config = os.path.join(work, "component.json")
    with open(config, "w") as f:
        json.dump(cfg, f)
    port, admin = free_port(), free_port()
    log = os.path.join(work, "sidecar.log")
    app_sock, sc_sock = os.path.join(work, "app.sock"), os.path.join(work, "sidecar.sock")
    app = subprocess.Popen(
        ["python3", os.path.join(src, "examples/reference-app/python/app.py")],
        env={**os.environ, "BYRON_APP_SOCKET": app_sock, "BYRON_SIDECAR_SOCKET": sc_sock},
        stdout=open(os.path.join(work, "app.log"), "w"), stderr=subprocess.STDOUT)
    args = [binary, "--mode=api", "--config", config, "--nats-url", tenv["BYRON_NATS_URL"],
            "--mongo-uri", tenv["BYRON_MONGO_URI"], "--http-port", str(port), "--admin-port", str(admin),
            "--bind", "127.0.0.1", "--sidecar-socket", sc_sock, "--app-socket", app_sock]
    sidecar = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                               env={**os.environ, "BYRON_AUTH_JWKS_MIN_REFRESH_MS": "500"})
    sink, sink_admin, sink_log = start_sink(binary, config, tenv, work)  # hooks decide on projected state
    failed = []
    try:
        wait_ready(admin, sidecar, log)
        wait_ready(sink_admin, sink, sink_log)
        env = {**os.environ, "NODE_PATH": nm, "GRAPHQL_URL": f"http://127.0.0.1:{port}/graphql",
               "METRICS_URL": f"http://127.0.0.1:{admin}/metrics",
               "MONGO_URI": tenv["BYRON_MONGO_URI"], "MONGO_DB": "byron_" + component.replace("-", "_"),
               "OIDC_ISSUER": tenv["BYRON_OIDC_ISSUER"], "OIDC_ADMIN_URL": tenv["BYRON_OIDC_ADMIN_URL"],
               "APP_SOCKET": app_sock, "NATS_URL": tenv["BYRON_NATS_URL"], "COMPONENT": component}
        print("=== auth_check.cjs", flush=True)
        r = subprocess.run(["node", os.path.join(src, "sidecar/tests/clients/auth_check.cjs")], env=env,
                           timeout=300)
        if r.returncode != 0:
            failed.append("auth_check.cjs")
        # Resources: many large bodies at once stay within the in-flight budget.
        print("=== 200 bodies of 1 MiB at once", flush=True)
        statuses, peak = body_flood(port, sidecar.pid)
        counts = {k: statuses.count(k) for k in sorted(set(statuses))}
        print(f"statuses {counts}, sidecar peak RSS {peak:.0f} MiB", flush=True)
        if len(statuses) != 200 or -1 in statuses or 0 in statuses:
            failed.append(f"body flood: not every client got an answer: {counts}")
        if counts.get(503, 0) == 0:
            failed.append(f"body flood: no 503 beyond the in-flight budget: {counts}")
        # Under AddressSanitizer (its quarantine and shadow memory) RSS is no measure of the budget.
        sanitized = b"__asan_init" in open(binary, "rb").read()
        if peak >= 256 and not sanitized:
            failed.append(f"body flood: RSS {peak:.0f} MiB, over the 256 MiB a pod is given")
    finally:
        rc, sink_rc = stop(sidecar), stop(sink)
        app_rc = stop(app)  # the reference app exits 0 on SIGTERM
    text = open(log).read()
    app_log = os.path.join(work, "app.log")
    for name, code, path in (("sidecar", rc, log), ("sink", sink_rc, sink_log), ("app", app_rc, app_log)):
        if code != 0:
            failed.append(f"{name} exit status {code}")
        if sanitizer_report(open(path).read()):
            failed.append(f"sanitizer report in the {name} log")
    if failed:
        print(f"FAILED: {', '.join(failed)}\n--- sidecar log ({log}):\n{text[-20000:]}")
        sys.exit(1)
    print("all identity checks passed")


if __name__ == "__main__":
    main()
