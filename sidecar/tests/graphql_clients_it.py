#!/usr/bin/env python3
"""graphql_clients_it.py — the GraphQL API proven with real clients.

Starts a real byron-sidecar (api mode, with the Node reference app) and a sink
(commands decide on the state the sink projected) against the testenv's
nats-server and FerretDB, then runs the Node client scripts in
sidecar/tests/clients/ against it, one after the other:

  schema_check.cjs  graphql-js: buildClientSchema(introspection) == our SDL,
                    validation of client queries, queries on seeded cache documents
  http_check.cjs    plain HTTP: status codes, media types, mutations and their errors
  ws_check.cjs      graphql-ws: subscriptions fed by mutations, replay, protocol errors
  audit.cjs         graphql-http's serverAudits (every MUST and SHOULD passes)
  stress.cjs        every surface at once from 16 connections and WebSocket clients
                    (issue 17; not in the default list: run by its own test)

Each script seeds what it needs (cache documents written into FerretDB in the
shape the sink writes: _id, version, fields). Any failed assertion fails the
test; both sidecars and the app must then stop cleanly on SIGTERM (exit 0, no sanitizer report).

Usage (ctest does this): BYRON_TESTENV=... BYRON_SOURCE_DIR=... BYRON_BINARY_DIR=...
  graphql_clients_it.py [script ...]
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SCRIPTS = ["schema_check.cjs", "http_check.cjs", "ws_check.cjs", "audit.cjs", "subs_check.cjs"]


def env_file(path):
    out = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


_recent_ports = []


def free_port():
    """A free loopback port, never one of the last 64 handed out: a port
    closed again is free again, so two picks in a row (a server's port and
    its admin port) can repeat. The Python tests and benchmarks share this one."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _recent_ports:
            _recent_ports[:] = (_recent_ports + [port])[-64:]
            return port


def node_modules():
    cache = os.environ.get("BYRON_CACHE", os.path.expanduser("~/.cache/byron"))
    nm = os.path.join(cache, "node", "current", "node_modules")
    if not os.path.isdir(os.path.join(nm, "graphql-http")):
        sys.exit(f"node packages missing in {nm}: run scripts/bootstrap test")
    return nm


def wait_ready(port, proc, log, deadline_s=30):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"sidecar exited with {proc.returncode}; log:\n{open(log).read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:  # admin port
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.05)
    sys.exit(f"sidecar not ready within {deadline_s} s; log:\n{open(log).read()}")


def sanitizer_report(text):
    """Whether a sanitizer (ASan, LSan, UBSan, TSan) reported anything."""
    return any(m in text for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                                   "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer"))


def start_sink(binary, config, tenv, work):
    """A sink for the component (commands decide on the state it projects): (process, admin port, log)."""
    admin, log = free_port(), os.path.join(work, "sink.log")
    proc = subprocess.Popen(
        [binary, "--mode=sink", "--config", config, "--nats-url", tenv["BYRON_NATS_URL"],
         "--mongo-uri", tenv["BYRON_MONGO_URI"], "--http-port", str(free_port()), "--admin-port", str(admin),
         "--bind", "127.0.0.1", "--sidecar-socket", os.path.join(work, "sink.sock")],
        stdout=open(log, "w"), stderr=subprocess.STDOUT)
    return proc, admin, log


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return -9


def main():
    src = os.environ["BYRON_SOURCE_DIR"]
    binary = os.path.join(os.environ["BYRON_BINARY_DIR"], "sidecar", "byron-sidecar")
    tenv = env_file(os.environ["BYRON_TESTENV"])
    scripts = sys.argv[1:] or SCRIPTS
    nm = node_modules()
    work = tempfile.mkdtemp(prefix="byron-gql-it-")
    component = f"gql-{os.getpid()}-{int(time.time()) % 100000}"
    with open(os.path.join(src, "sidecar/tests/data/orders.json")) as f:
        cfg = json.load(f)
    cfg["component"], cfg["namespace"] = component, "it"
    config = os.path.join(work, "component.json")
    with open(config, "w") as f:
        json.dump(cfg, f)
    port, admin = free_port(), free_port()
    log = os.path.join(work, "sidecar.log")
    app_sock, sc_sock = os.path.join(work, "app.sock"), os.path.join(work, "sidecar.sock")
    app = subprocess.Popen(
        ["node", os.path.join(src, "examples/reference-app/node/app.js")],
        env={**os.environ, "BYRON_APP_SOCKET": app_sock, "BYRON_SIDECAR_SOCKET": sc_sock},
        stdout=open(os.path.join(work, "app.log"), "w"), stderr=subprocess.STDOUT)
    args = [binary, "--mode=api", "--config", config, "--nats-url", tenv["BYRON_NATS_URL"],
            "--mongo-uri", tenv["BYRON_MONGO_URI"], "--http-port", str(port), "--admin-port", str(admin),
            "--bind", "127.0.0.1", "--sidecar-socket", sc_sock, "--app-socket", app_sock,
            "--rest-over-tcp"]  # the stress test drives REST too (anonymous rules in the test config)
    if scripts != ["stress.cjs"]:  # the stress test runs with the defaults users get
        # Small, test-visible limits: the clients check that each is enforced.
        args += ["--graphql-max-body-bytes", "65536", "--graphql-max-depth", "20",
                 "--graphql-max-subscriptions", "5", "--graphql-ws-init-timeout-ms", "1500",
                 "--graphql-ws-queue", "16", "--graphql-max-replica-subscriptions", "60",
                 "--app-timeout-ms", "1000"]
    sidecar = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    # Scripts whose commands decide on projected state need the sink; the others
    # page through documents they seed, which a projecting sink would join.
    sink, sink_admin, sink_log = (start_sink(binary, config, tenv, work)
                                  if set(scripts) & {"http_check.cjs", "ws_check.cjs", "stress.cjs"}
                                  else (None, 0, os.path.join(work, "sink.log")))
    open(sink_log, "a").close()
    failed = []
    holder = None
    try:
        wait_ready(admin, sidecar, log)
        if sink:
            wait_ready(sink_admin, sink, sink_log)
        env = {**os.environ, "NODE_PATH": nm, "GRAPHQL_URL": f"http://127.0.0.1:{port}/graphql",
               "METRICS_URL": f"http://127.0.0.1:{admin}/metrics", "NATS_MONITOR_URL": tenv["BYRON_NATS_MONITOR_URL"],
               "MONGO_URI": tenv["BYRON_MONGO_URI"], "MONGO_DB": "byron_" + component.replace("-", "_"),
               "NATS_URL": tenv["BYRON_NATS_URL"], "COMPONENT": component, "SIDECAR_SOCKET": sc_sock}
        for s in scripts:
            print(f"=== {s}", flush=True)
            r = subprocess.run(["node", os.path.join(src, "sidecar/tests/clients", s)], env=env, timeout=600)
            if r.returncode != 0:
                failed.append(s)
        holder = None
        if "ws_check.cjs" in scripts:
            # Shutdown with an open subscription: the client must see 1001 (Going Away).
            holder = subprocess.Popen(["node", os.path.join(src, "sidecar/tests/clients/ws_hold.cjs")], env=env,
                                      stdout=subprocess.PIPE, text=True)
            line = holder.stdout.readline().strip()
            if line != "ready":
                failed.append(f"ws_hold: {line!r}")
    finally:
        rc = stop(sidecar)
        sink_rc = stop(sink) if sink else 0
        app_rc = stop(app)  # the reference app exits 0 on SIGTERM
    if holder:
        try:
            out = holder.communicate(timeout=20)[0].strip()
        except subprocess.TimeoutExpired:
            holder.kill()
            out = "no close seen"
        print(f"=== shutdown with an open subscription: {out}")
        if out != "closed 1001":
            failed.append(f"ws_hold: {out!r} (want closed 1001)")
    text = open(log).read()
    app_log = os.path.join(work, "app.log")
    for name, code, path in (("sidecar", rc, log), ("sink", sink_rc, sink_log), ("app", app_rc, app_log)):
        if code != 0:
            failed.append(f"{name} exit status {code}")
        if sanitizer_report(open(path).read()):
            failed.append(f"sanitizer report in the {name} log")
    if failed:
        print(f"FAILED: {', '.join(failed)}\n--- sidecar log ({log}):\n{text[-20000:]}\n--- sink log tail:\n"
              f"{open(sink_log).read()[-4000:]}")
        sys.exit(1)
    print("all client checks passed")


if __name__ == "__main__":
    main()
