"""The shipping team's logic: a Shipment for every shipped order.

The shipping component subscribes to the orders component's OrderShipped
events (shipping.yaml). Its sink calls this handler for each one; the answer
says which of shipping's own cached objects change. The order's id is the
shipment's id, so a redelivered event writes the same Shipment again.
"""
from byron_app import App

app = App("shipping")


@app.on_event("OrderShipped")
def order_shipped(req):
    ev = req["event"]          # the orders component's event, as it is in the log
    order_id = ev["subject"]   # the id of the Order it happened to
    return {"changes": [{
        "model": "Shipment",
        "id": order_id,
        "set": {"orderId": order_id, "carrier": ev["data"]["carrier"], "shippedAt": ev["time"]},
    }]}


if __name__ == "__main__":
    app.run()
