"""rebuild_writer.py — the client of e2e/tests/rebuild.sh, run in a pod of the
test's namespace while the orders component's cache is rebuilt: without a
pause, round i creates order r<i> and ships it (shipOrder: the app's before
hook decides on the order's current state, so the api waits until the cache
has it at exactly its version — the exact-state path), each with
`Byron-Consistency: projected`, then reads every order back through
`orders(first: 1000, after: ...)`.

A command counts as an error unless it is accepted; accepted without
`projected: true` is counted apart. A read is partial when it returns fewer
orders than were created and projected before it began (the api must never
read a half-built cache). One JSON line per round on stdout; stops at the
start of a round once /tmp/stop exists, or after MAX_SECONDS. Python standard
library only."""
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

URL = urllib.parse.urlsplit(os.environ.get("API", "http://orders-api/graphql"))
STOP = "/tmp/stop"
MAX_SECONDS = float(os.environ.get("MAX_SECONDS", "900"))
ROUND_SECONDS = float(os.environ.get("ROUND_SECONDS", "0.5"))  # pace: the machine is shared
RUN = "%d" % time.time()
START = time.monotonic()


def post(query, headers=None):
    c = http.client.HTTPConnection(URL.hostname, URL.port or 80, timeout=20)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request("POST", URL.path, json.dumps({"query": query}), h)
        r = c.getresponse()
        text = r.read()
        try:
            return json.loads(text)
        except ValueError:
            return {"errors": [{"extensions": {"code": "HTTP_%d" % r.status}}]}
    except (OSError, http.client.HTTPException, socket.timeout) as e:
        return {"errors": [{"message": str(e), "extensions": {"code": "NO_ANSWER"}}]}
    finally:
        c.close()


def command(name, mutation, key):
    a = post("mutation { c: %s { id version projected } }" % mutation,
             {"Byron-Consistency": "projected", "Idempotency-Key": key})
    errs = a.get("errors") or []
    res = (a.get("data") or {}).get("c")
    if errs or not res:
        return {"command": name, "verdict": "error", "error": str(errs[:1])[:300]}
    return {"command": name, "verdict": "accepted", "projected": res.get("projected") is True}


def count_orders():
    n, after = 0, None
    while True:
        q = "{ orders(first: 1000%s) { edges { node { id } } pageInfo { hasNextPage endCursor } } }" % (
            ', after: "%s"' % after if after else "")
        a = post(q)
        if a.get("errors") or not a.get("data"):
            return None, str(a.get("errors"))[:300]
        page = a["data"]["orders"]
        n += len(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return n, None
        after = page["pageInfo"]["endCursor"]


def main():
    created = 0
    i = 0
    while not os.path.exists(STOP) and time.monotonic() - START < MAX_SECONDS:
        t0 = time.monotonic()
        r = "r%d" % i
        c1 = command("createOrder", 'createOrder(input: {id: "%s", customer: "c%d", total: %d})' % (r, i, i + 1),
                     "%s-c-%d" % (RUN, i))
        if c1["verdict"] == "accepted" and c1["projected"]:
            created += 1
        c2 = command("shipOrder", 'shipOrder(id: "%s", input: {carrier: "ups"})' % r, "%s-s-%d" % (RUN, i))
        want = created
        got, err = count_orders()
        line = {"round": i, "t": round(time.monotonic() - START, 2), "commands": [c1, c2],
                "read": {"want": want, "got": got, "error": err,
                         "partial": got is not None and got < want}}
        print(json.dumps(line), flush=True)
        i += 1
        time.sleep(max(0.0, ROUND_SECONDS - (time.monotonic() - t0)))
    print(json.dumps({"done": True, "rounds": i, "created": created}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
