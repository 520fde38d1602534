"""The shipping team's logic: a Shipment for every shipped order.

The shipping component subscribes to the orders component's OrderShipped
events (shipping.yaml). Its sink calls this handler for each one, and the
handler acts as a process manager: it commands shipping's own Shipment into
being (createShipment, through its sidecar, which relays the command to
shipping's api: docs/app-protocol.md, "Commands from a sink"). The causing
event's id is the command's idempotency key: a redelivered event gets the
first result back instead of a second Shipment or an error. The order's id is
the shipment's id.
"""
from byron_app import App, command

app = App("shipping")


@app.on_event("OrderShipped")
def order_shipped(req):
    ev = req["event"]          # the orders component's event, as it is in the log
    order_id = ev["subject"]   # the id of the Order it happened to
    command("createShipment", id=order_id, key=ev["id"],
            input={"orderId": order_id, "carrier": ev["data"]["carrier"], "shippedAt": ev["time"]})
    return {}                  # nothing else changes: the Shipment comes with its own event


if __name__ == "__main__":
    app.run()
