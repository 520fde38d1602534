#!/usr/bin/env python3
"""Byron reference app (Python, standard library only).

Serves the local app protocol (docs/app-protocol.md) on the Unix socket named
by BYRON_APP_SOCKET, and calls the sidecar's socket (BYRON_SIDECAR_SOCKET) once
at start-up to read the component's metadata.

Behaviour, driven by the command input (for tests and demos):
  "reject": "why"   the before hook rejects the command with that message
  "slow": seconds   the before hook sleeps that long first
  "garbage": true   the before hook answers with something that is not JSON
Custom commands emit one event: the first type the command declares, with the
input as data ("repeat": n emits n of them; "badEvent": true adds an event of an
undeclared type). Set REFAPP_NO_HOOKS=1 to answer 404 to hooks (no hooks); tests switch
that at run time with POST /v1/control {"noHooks": true|false}. REFAPP_HOOKS='["/v1/commands/
shipOrder", ...]' is the hook declaration GET /v1/hooks answers (unset: 404, none declared;
"too-large": an answer over the sidecar's 1 MiB limit);
the app still serves every hook, so what the sidecar calls shows in /v1/stats ("posts").

Event handlers (sink side, POST /v1/events/<type>):
  own custom event  sets the event data's keys that are fields of the aggregate's model
                    (e.g. OrderShipped {"status": "SHIPPED"} → status), plus
                    REFAPP_EVENT_SET='{"OrderShipped": {"status": "SHIPPED"}}' per type, and
                    REFAPP_EVENT_CHANGES='{"OrderShipped": [{"model": "OrderLine", "id": "{id}-a",
                    "set": {"sku": "a"}}]}' per type: changes to other objects ("{id}" is the
                    event's subject), and REFAPP_EVENT_COMMANDS='{"OrderShipped": [{"command":
                    "createOrder", "id": "{id}-next", "input": {...}}]}' per type: commands sent
                    through the sink's sidecar (a process manager; the event's id is the key)
  subscribed event  mirrors the other component's object into this component's first
                    model: {"changes": [{"model": M, "id": <event subject>, "set": <data ∩ M's fields>}]}
  generated event   {} (the sidecar's default projection)
  any event whose data holds the string "poison" fails (500): for dead-letter tests;
  POST /v1/control {"poison": false} cures it (the app is fixed: dead letters can be replayed).
"""
import http.client
import json
import os
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

SOCKET = os.environ.get("BYRON_APP_SOCKET", "/var/run/byron/app.sock")
SIDECAR = os.environ.get("BYRON_SIDECAR_SOCKET", "")
NO_HOOKS = os.environ.get("REFAPP_NO_HOOKS") == "1"
HOOKS = os.environ.get("REFAPP_HOOKS") or None
HOOKS = HOOKS if HOOKS in (None, "too-large") else json.loads(HOOKS)
POISON = True  # "poison" in an event's data fails its handler
EVENT_SET = json.loads(os.environ.get("REFAPP_EVENT_SET") or "{}")
EVENT_CHANGES = json.loads(os.environ.get("REFAPP_EVENT_CHANGES") or "{}")
EVENT_COMMANDS = json.loads(os.environ.get("REFAPP_EVENT_COMMANDS") or "{}")
META = {}  # the component, from GET /v1/meta at start-up

stats_lock = threading.Lock()
stats = {"before": 0, "after": 0, "command": 0, "events": 0, "eventAfter": {}, "commandsSent": 0,
         "posts": 0, "hooksRead": 0}


def log(msg, **kw):
    kw.update(ts=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), logger="refapp-python", msg=msg)
    sys.stderr.write(json.dumps(kw) + "\n")


def count(what):
    with stats_lock:
        stats[what] += 1


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=2):
        super().__init__("sidecar", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def sidecar_get(path):
    conn = UnixHTTPConnection(SIDECAR)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def sidecar_post(path, body):
    conn = UnixHTTPConnection(SIDECAR, timeout=30)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the sidecar reuses one connection per worker

    def address_string(self):
        return "unix"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, raw=False):
        data = body if raw else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v1/health":
            return self.reply(200, {"status": "ok"})
        if self.path == "/v1/stats":
            with stats_lock:
                return self.reply(200, dict(stats))
        if self.path == "/v1/hooks":
            count("hooksRead")
            if HOOKS == "too-large":
                return self.reply(200, {"hooks": [], "padding": "x" * (1 << 20)})
            return self.reply(404, {"error": "no declaration"}) if HOOKS is None else self.reply(200, {"hooks": HOOKS})
        return self.reply(404, {"error": "no such path"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.reply(400, {"error": "body is not JSON"})
        parts = self.path.strip("/").split("/")
        if self.path != "/v1/control":
            count("posts")  # every call from the sidecar
        if self.path == "/v1/control":  # tests: hooks come and go while the sidecar runs
            global NO_HOOKS, POISON
            if "noHooks" in req:
                NO_HOOKS = bool(req["noHooks"])
            if "poison" in req:
                POISON = bool(req["poison"])
            return self.reply(200, {"noHooks": NO_HOOKS, "poison": POISON})
        # /v1/commands/<name>[/before|/after]   /v1/events/<type>[/before|/after]
        if len(parts) < 3 or parts[0] != "v1" or parts[1] not in ("commands", "events"):
            return self.reply(404, {"error": "no such path"})
        hook = parts[3] if len(parts) == 4 else None
        if parts[1] == "events":
            count("events")
            if hook == "after" and not NO_HOOKS:  # per event id: how often its after hook ran
                with stats_lock:
                    eid = (req.get("event") or {}).get("id", "")
                    stats["eventAfter"][eid] = stats["eventAfter"].get(eid, 0) + 1
            if hook or NO_HOOKS:
                return self.reply(200, {}) if hook and not NO_HOOKS else self.reply(404, {})
            return self.handle_event(parts[2], req)
        if hook == "before":
            if NO_HOOKS:
                return self.reply(404, {"error": "no hook"})
            count("before")
            with stats_lock:  # who asked (docs/security.md): tests read it from /v1/stats
                stats["lastPrincipal"] = req.get("principal")
            inp = req.get("input") or {}
            if inp.get("slow"):
                log("holding the before hook", seconds=inp["slow"])  # tests wait for this line
                time.sleep(float(inp["slow"]))
            if inp.get("garbage"):
                return self.reply(200, b"<html>this is not JSON", raw=True)
            if inp.get("reject"):
                return self.reply(200, {"reject": {"message": str(inp["reject"]), "code": "REJECTED_BY_APP"}})
            return self.reply(200, {})
        if hook == "after":
            if NO_HOOKS:
                return self.reply(404, {"error": "no hook"})
            count("after")
            return self.reply(200, {})
        if hook is None:
            count("command")
            emits = req.get("emits") or []
            if not emits:
                return self.reply(500, {"error": "command %s declares no events" % parts[2]})
            inp = req.get("input") or {}
            events = [{"type": emits[0], "data": inp} for _ in range(int(inp.get("repeat") or 1))]
            if inp.get("badEvent"):
                events.append({"type": "NotDeclared", "data": {}})
            return self.reply(200, {"events": events})
        return self.reply(404, {"error": "no such path"})


def model_fields(name):
    for m in META.get("models") or []:
        if m["name"] == name:
            return {f["name"] for f in m["fields"]}
    return set()


def handle_event(self, etype, req):
    ev = req.get("event") or {}
    data = ev.get("data") or {}
    if POISON and "poison" in [v for v in data.values() if isinstance(v, str)]:
        return self.reply(500, {"error": "poisoned event %s" % ev.get("id")})
    if req.get("subscribed"):
        models = META.get("models") or []
        if not models:
            return self.reply(200, {})
        target = models[0]["name"]
        fields = model_fields(target)
        setv = {k: v for k, v in data.items() if k in fields}
        return self.reply(200, {"changes": [{"model": target, "id": ev.get("subject"), "set": setv}]})
    model = ev.get("byronmodel", "")
    if etype in (model + "Created", model + "Updated", model + "Deleted"):
        return self.reply(200, {})
    fields = model_fields(model)
    setv = {k: v for k, v in data.items() if k in fields}
    setv.update(EVENT_SET.get(etype) or {})
    answer = {"set": setv} if setv else {}
    for i, c in enumerate(EVENT_COMMANDS.get(etype) or []):  # a process manager: once per event, by its id
        status, answer_ = sidecar_post("/v1/commands/" + c["command"], {
            "id": c["id"].replace("{id}", ev.get("subject", "")), "input": c.get("input") or {},
            "idempotencyKey": "%s:%d" % (ev.get("id", ""), i)})
        count("commandsSent")
        if status != 200:
            return self.reply(500, {"error": "command %s: %s %s" % (c["command"], status, answer_)})
    changes = [dict(c, id=c["id"].replace("{id}", ev.get("subject", ""))) for c in EVENT_CHANGES.get(etype) or []]
    if changes:
        answer["changes"] = changes
    return self.reply(200, answer)


Handler.handle_event = handle_event


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # socketserver's default backlog is 5: the sidecar's workers and sink lanes
    # (8 + 8 by default) connecting at once would find it full, and a Unix
    # socket refuses a connection it cannot queue (the call fails: 503).
    request_queue_size = 128


def main():
    if SIDECAR:
        # The sidecar serves its socket before the app starts: metadata is available now.
        for _ in range(50):
            try:
                status, meta = sidecar_get("/v1/meta")
                META.update(meta or {})
                log("sidecar metadata", status=status, component=meta.get("component"), mode=meta.get("mode"))
                break
            except OSError:
                time.sleep(0.1)
    try:
        os.unlink(SOCKET)
    except FileNotFoundError:
        pass
    srv = Server(SOCKET, Handler)
    log("listening", socket=SOCKET)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    main()
