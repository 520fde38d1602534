"""The orders team's logic (docs/app-protocol.md).

The sidecar does the rest: it validates inputs against component.yaml, runs the
generated createOrder/updateOrder/deleteOrder, writes events to the log and
serves GraphQL. Here we only say what is specific to orders:

  API side (commands)
    createOrder  before: a new order is OPEN and its total is positive
    shipOrder    before: a cancelled (or already shipped) order cannot ship
                 command: emits OrderShipped {carrier}
    cancelOrder  before: a shipped order cannot be cancelled
                 command: emits OrderCancelled {reason}
  Sink side (how events change the cached Order)
    OrderCreated    status defaults to OPEN
    OrderShipped    status SHIPPED, carrier
    OrderCancelled  status CANCELLED, cancelReason
"""
import os

from byron_app import App, Reject, event

app = App("orders")

# A deliberate bug, for trying dead letters (docs/cli.md; e2e.cli): the
# OrderShipped handler fails for the carriers ORDERS_BROKEN_CARRIERS names
# (comma-separated), as an app's bug fails for some data. Unset: never.
BROKEN_CARRIERS = {c for c in os.environ.get("ORDERS_BROKEN_CARRIERS", "").split(",") if c}


def status_of(req):
    # `current` is the order at exactly the version the command's events will
    # follow (docs/app-protocol.md); None when it does not exist yet.
    return (req.get("current") or {}).get("status") or "OPEN"


# --- API side: commands ---------------------------------------------------------

@app.before("createOrder")
def check_new_order(req):
    order = req["input"]
    if order.get("status", "OPEN") != "OPEN":
        raise Reject("a new order is OPEN, not %s" % order["status"], "BAD_STATUS")
    if order["total"] <= 0:
        raise Reject("an order's total must be positive, got %s" % order["total"], "BAD_TOTAL")


@app.before("shipOrder")
def check_can_ship(req):
    status = status_of(req)
    if status == "CANCELLED":
        raise Reject("order %s is cancelled and cannot be shipped" % req["id"], "ORDER_CANCELLED")
    if status == "SHIPPED":
        raise Reject("order %s is already shipped" % req["id"], "ALREADY_SHIPPED")


@app.command("shipOrder")
def ship(req):
    return [event("OrderShipped", carrier=req["input"]["carrier"])]


@app.before("cancelOrder")
def check_can_cancel(req):
    if status_of(req) == "SHIPPED":
        raise Reject("order %s is already shipped and cannot be cancelled" % req["id"], "ALREADY_SHIPPED")


@app.command("cancelOrder")
def cancel(req):
    return [event("OrderCancelled", reason=req["input"].get("reason") or "cancelled by the customer")]


# --- Sink side: events -> the cached Order ----------------------------------------
# The sidecar projects OrderCreated/OrderUpdated/OrderDeleted by itself; a
# handler may add fields ("set"). Custom events change only what we set.

@app.on_event("OrderCreated")
def created(req):
    if not req["event"]["data"].get("status"):
        return {"set": {"status": "OPEN"}}
    return {}


@app.on_event("OrderShipped")
def shipped(req):
    carrier = req["event"]["data"]["carrier"]
    if carrier in BROKEN_CARRIERS:
        raise RuntimeError("no route to carrier %s (ORDERS_BROKEN_CARRIERS)" % carrier)
    return {"set": {"status": "SHIPPED", "carrier": carrier}}


@app.on_event("OrderCancelled")
def cancelled(req):
    return {"set": {"status": "CANCELLED", "cancelReason": req["event"]["data"]["reason"]}}


if __name__ == "__main__":
    app.run()
