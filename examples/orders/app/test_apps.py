"""Unit tests of the example apps: the local app protocol over a real Unix
socket, as the sidecar speaks it (python3 -m unittest, no dependencies)."""
import http.client
import http.server
import json
import os
import socket
import socketserver
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import byron_app  # noqa: E402
import orders  # noqa: E402
import shipping  # noqa: E402


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("app", timeout=5)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def serve(app):
    """Start app on a fresh socket; return a function that POSTs to it."""
    path = os.path.join(tempfile.mkdtemp(), "app.sock")
    handler = type("Handler", (byron_app._Handler,), {"app": app})
    server = byron_app._Server(path, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def call(method, url, body=None):
        # a fresh connection per call keeps the test free of leaked sockets
        conn = UnixConnection(path)
        try:
            conn.request(method, url, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, json.loads(r.read() or b"null")
        finally:
            conn.close()

    return server, call


class OrdersApp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server, call = serve(orders.app)
        cls.call = staticmethod(call)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def cmd(self, hook, command, **req):
        path = "/v1/commands/%s%s" % (command, "/" + hook if hook else "")
        return self.call("POST", path, req)

    def test_health(self):
        self.assertEqual(self.call("GET", "/v1/health"), (200, {"status": "ok"}))

    def test_create_accepts_a_positive_total(self):
        self.assertEqual(self.cmd("before", "createOrder", input={"customer": "ann", "total": 1.5}), (200, {}))

    def test_create_rejects_a_negative_total(self):
        status, body = self.cmd("before", "createOrder", input={"customer": "ann", "total": -1})
        self.assertEqual(status, 200)
        self.assertEqual(body["reject"]["code"], "BAD_TOTAL")

    def test_ship_an_open_order(self):
        self.assertEqual(self.cmd("before", "shipOrder", id="o-1", current={"status": "OPEN"}), (200, {}))
        # the cache may not have the order yet: decided as OPEN
        self.assertEqual(self.cmd("before", "shipOrder", id="o-1", current=None), (200, {}))
        status, body = self.cmd(None, "shipOrder", id="o-1", input={"carrier": "ups"})
        self.assertEqual((status, body), (200, {"events": [{"type": "OrderShipped", "data": {"carrier": "ups"}}]}))

    def test_shipping_a_cancelled_order_is_rejected(self):
        status, body = self.cmd("before", "shipOrder", id="o-2", current={"status": "CANCELLED"})
        self.assertEqual(body["reject"], {"message": "order o-2 is cancelled and cannot be shipped",
                                          "code": "ORDER_CANCELLED"})

    def test_cancelling_a_shipped_order_is_rejected(self):
        _, body = self.cmd("before", "cancelOrder", id="o-3", current={"status": "SHIPPED"})
        self.assertEqual(body["reject"]["code"], "ALREADY_SHIPPED")

    def test_unknown_hooks_are_not_implemented(self):
        self.assertEqual(self.cmd("after", "shipOrder", id="o-1")[0], 404)
        self.assertEqual(self.call("POST", "/v1/events/OrderUpdated", {"event": {}})[0], 404)

    def test_event_handlers_set_the_status(self):
        ev = lambda t, d: {"event": {"type": t, "subject": "o-1", "data": d}}  # noqa: E731
        self.assertEqual(self.call("POST", "/v1/events/OrderCreated", ev("OrderCreated", {"customer": "ann"})),
                         (200, {"set": {"status": "OPEN"}}))
        self.assertEqual(self.call("POST", "/v1/events/OrderShipped", ev("OrderShipped", {"carrier": "ups"})),
                         (200, {"set": {"status": "SHIPPED", "carrier": "ups"}}))
        self.assertEqual(self.call("POST", "/v1/events/OrderCancelled", ev("OrderCancelled", {"reason": "x"})),
                         (200, {"set": {"status": "CANCELLED", "cancelReason": "x"}}))

    def test_a_broken_carrier_fails_the_handler(self):
        ev = {"event": {"type": "OrderShipped", "subject": "o-1", "data": {"carrier": "nowhere"}}}
        orders.BROKEN_CARRIERS.add("nowhere")  # as ORDERS_BROKEN_CARRIERS=nowhere does
        try:
            status, body = self.call("POST", "/v1/events/OrderShipped", ev)
        finally:
            orders.BROKEN_CARRIERS.discard("nowhere")
        self.assertEqual(status, 500)
        self.assertIn("no route to carrier nowhere", body["error"])
        self.assertEqual(self.call("POST", "/v1/events/OrderShipped", ev)[0], 200)

    def test_an_empty_body_is_an_empty_request(self):
        self.assertEqual(self.call("POST", "/v1/commands/shipOrder/before", None), (200, {}))


class ShippingApp(unittest.TestCase):
    """The handler commands through the sidecar's socket: here a socket that
    records what a sidecar would be asked and answers as one does (the real
    relay is proven in the sidecar's integration tests and the e2e tier)."""

    def test_an_order_shipped_commands_a_shipment_keyed_by_the_event(self):
        asked = []

        class Sidecar(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def address_string(self):
                return "app"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                asked.append((self.path, body))
                data = json.dumps({"id": body["id"], "version": 1, "duplicate": len(asked) > 1}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        sock = os.path.join(tempfile.mkdtemp(), "sidecar.sock")
        sidecar = socketserver.UnixStreamServer(sock, Sidecar)
        threading.Thread(target=sidecar.serve_forever, daemon=True).start()
        os.environ["BYRON_SIDECAR_SOCKET"] = sock
        server, call = serve(shipping.app)
        event = {"subscribed": True, "event": {"id": "ev-1", "type": "OrderShipped", "subject": "o-9",
                                               "time": "2026-01-01T00:00:00Z", "data": {"carrier": "dhl"}}}
        try:
            first = call("POST", "/v1/events/OrderShipped", event)
            again = call("POST", "/v1/events/OrderShipped", event)  # a redelivery
        finally:
            server.shutdown()
            server.server_close()
            sidecar.shutdown()
            sidecar.server_close()
        self.assertEqual(first, (200, {}))
        self.assertEqual(again, (200, {}))
        want = ("/v1/commands/createShipment", {"id": "o-9", "idempotencyKey": "ev-1", "input": {
            "orderId": "o-9", "carrier": "dhl", "shippedAt": "2026-01-01T00:00:00Z"}})
        self.assertEqual(asked, [want, want])


if __name__ == "__main__":
    unittest.main()
