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
show within seconds. The sidecar and its sink must stop cleanly (exit 0, no sanitizer report).
"""
import json
import os
import subprocess
import sys
import tempfile
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
    finally:
        rc, sink_rc = stop(sidecar), stop(sink)
        app.terminate()
        app.wait(timeout=10)
    text = open(log).read()
    for name, code, path in (("sidecar", rc, log), ("sink", sink_rc, sink_log)):
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
