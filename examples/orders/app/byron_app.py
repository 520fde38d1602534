"""A minimal server for Byron's local app protocol (docs/app-protocol.md).

Python standard library only. The sidecar calls the app over HTTP/1.1 on a
Unix socket; this module turns those calls into calls of plain functions:

    app = App()

    @app.before("shipOrder")             # POST /v1/commands/shipOrder/before
    def check(req): ...                  #   return None to accept, or raise Reject

    @app.command("shipOrder")            # POST /v1/commands/shipOrder
    def ship(req): return [event(...)]   #   the events to emit

    @app.on_event("OrderShipped")        # POST /v1/events/OrderShipped  (sink)
    def shipped(req): return {"set": {...}}

    command("createShipment", id=..., input={...}, key=event_id)   # through the sidecar

    app.run()

Whatever is not registered answers 404, which the sidecar reads as "not
implemented" (a hook is skipped, an event gets the default projection). The
app declares what it registered (GET /v1/hooks), so the sidecar does not even
ask for the rest: register every handler before run().
"""
import http.client
import json
import os
import signal
import socket
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler


class Reject(Exception):
    """Raise in a hook or command to refuse it; the message reaches the client."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = code


class CommandFailed(Exception):
    """A command sent through the sidecar was not run; status and answer say why."""

    def __init__(self, status, answer):
        super().__init__("HTTP %s: %s" % (status, json.dumps(answer)))
        self.status, self.answer = status, answer


class _SidecarConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("sidecar", timeout=30)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def command(name, input=None, id=None, key=None):
    """Run a command through this pod's sidecar (BYRON_SIDECAR_SOCKET) and return
    its answer ({"id", "version", "events", ...}). From an event handler, key is
    the causing event's id: the sink delivers an event at least once, and a
    re-sent command with the same key gets the first result back."""
    body = {"input": input or {}}
    if id is not None:
        body["id"] = id
    if key is not None:
        body["idempotencyKey"] = key
    conn = _SidecarConnection(os.environ.get("BYRON_SIDECAR_SOCKET", "/var/run/byron/sidecar.sock"))
    try:
        conn.request("POST", "/v1/commands/" + name, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse()
        status, answer = r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()
    if status != 200:
        raise CommandFailed(status, answer)
    return answer


def event(type_, **data):
    """One event for a command handler to return."""
    return {"type": type_, "data": data}


def log(msg, **fields):
    """One JSON line on stderr, like the sidecar's own logs."""
    fields.update(ts=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), msg=msg)
    sys.stderr.write(json.dumps(fields) + "\n")
    sys.stderr.flush()


class App:
    def __init__(self, name):
        self.name = name
        self.routes = {}  # "/v1/commands/shipOrder/before" -> function

    def _route(self, path):
        def register(fn):
            self.routes[path] = fn
            return fn
        return register

    def before(self, command):
        return self._route("/v1/commands/%s/before" % command)

    def command(self, command):
        return self._route("/v1/commands/%s" % command)

    def after(self, command):
        return self._route("/v1/commands/%s/after" % command)

    def on_event(self, event_type):
        return self._route("/v1/events/%s" % event_type)

    def run(self, socket_path=None):
        socket_path = socket_path or os.environ.get("BYRON_APP_SOCKET", "/var/run/byron/app.sock")
        try:
            os.unlink(socket_path)  # left over from a previous run of this pod
        except FileNotFoundError:
            pass
        handler = type("Handler", (_Handler,), {"app": self})
        server = _Server(socket_path, handler)
        # Kubernetes stops a pod with SIGTERM: finish cleanly.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        log("listening", app=self.name, socket=socket_path)
        server.serve_forever()


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # socketserver's default backlog is 5: the sidecar's workers and sink lanes
    # (8 + 8 by default) connecting at once would find it full, and a Unix
    # socket refuses a connection it cannot queue (the call fails: 503).
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the sidecar reuses its connections
    app = None

    def address_string(self):
        return "sidecar"

    def log_message(self, fmt, *args):
        pass  # one line per call would drown the interesting ones

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v1/health":
            return self._reply(200, {"status": "ok"})
        if self.path == "/v1/hooks":  # what is registered: the sidecar skips the rest
            return self._reply(200, {"hooks": sorted(self.app.routes)})
        return self._reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._reply(400, {"error": "body is not JSON"})
        fn = self.app.routes.get(self.path)
        if fn is None:
            return self._reply(404, {"error": "not implemented"})
        try:
            result = fn(req)
        except Reject as r:
            reject = {"message": r.message}
            if r.code:
                reject["code"] = r.code
            log("rejected", path=self.path, id=req.get("id"), reason=r.message)
            return self._reply(200, {"reject": reject})
        except Exception as e:  # a bug in the app: the sidecar reports APP_ERROR
            log("handler failed", path=self.path, error=repr(e))
            return self._reply(500, {"error": str(e)})
        if self.path.startswith("/v1/commands/") and isinstance(result, list):
            result = {"events": result}  # a command handler returned its events
        return self._reply(200, result or {})
