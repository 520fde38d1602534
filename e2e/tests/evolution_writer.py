"""evolution_writer.py — the client of e2e/tests/evolution.sh, run in a pod of
the test's namespace: it sends commands to the orders API Service without a
pause while the component's model changes under it, and prints one JSON line
per command on stdout.

Each round i, on two new orders:
  createOrder r<i>                                   the old schema
  shipOrder / cancelOrder r<i>                       a custom command (the app's hooks decide)
  updateOrder r<i> {note, status: ON_HOLD}           the new field and enum value
  updateOrder r<i> {carrier}                         the old schema again, on the same order
                                                     (the app has no hook for it: appended at
                                                     once, right behind an event an old sink defers)
  createOrder n<i> {..., note}                       the new field
Each command carries its own Idempotency-Key and is sent again with it until
the answer is definite: accepted, or refused (invalid input — an old api pod
does not know the new field —, rejected by a hook, conflict, not found).
Anything else (no answer, UNAVAILABLE while a pod drains or the sink defers,
an internal error) may or may not have written the event; re-sending with the
key returns the original result, so nothing is written twice and an accepted
command is never counted as refused.

With NEW_MODEL=0 (e2e/tests/upgrade.sh: the model does not change) a round
sends only the old-schema commands.

At most one round per ROUND_SECONDS. Stops at the start of a round once
/tmp/stop exists, or after MAX_SECONDS;
a command without a definite answer within COMMAND_SECONDS is reported as
"unknown" (the test fails on it). Python standard library only."""
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse

URL = urllib.parse.urlsplit(os.environ.get("API", "http://orders-api/graphql"))
STOP = "/tmp/stop"
MAX_SECONDS = float(os.environ.get("MAX_SECONDS", "540"))
ROUND_SECONDS = float(os.environ.get("ROUND_SECONDS", "0.5"))  # pace: the machine is shared
COMMAND_SECONDS = float(os.environ.get("COMMAND_SECONDS", "90"))
NEW_MODEL = os.environ.get("NEW_MODEL", "1") != "0"
# Definite refusals: nothing was written.
REFUSED = {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "REJECTED", "CONFLICT", "NOT_FOUND"}
RUN = "%d" % time.time()  # keys unique to this run
START = time.monotonic()
SENT = [0]  # commands so far: each gets its own key


class Connection(http.client.HTTPConnection):
    """Connect within 2 s, answer within 20 s: during a rollout the Service may
    still route a new connection to a pod that is gone, where a SYN is never
    answered; the command is sent again (same key) instead of waiting."""

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), 2)
        self.sock.settimeout(20)


def post(query, key):
    body = json.dumps({"query": "mutation { c: %s { id version sequence } }" % query})
    c = Connection(URL.hostname, URL.port or 80)
    try:
        c.request("POST", URL.path, body, {"Content-Type": "application/json", "Idempotency-Key": key})
        r = c.getresponse()
        text = r.read()
        try:
            return json.loads(text)  # 4xx/5xx too: the body is still GraphQL's
        except ValueError:
            return {"errors": [{"extensions": {"code": "HTTP_%d" % r.status}}]}
    except (OSError, http.client.HTTPException) as e:  # no connection, reset, timeout, garbage
        return {"errors": [{"message": str(e), "extensions": {"code": "NO_ANSWER"}}]}
    finally:
        c.close()


def send(name, id_, new, query):
    SENT[0] += 1
    key = "%s-%d-%s-%s" % (RUN, SENT[0], name, id_)
    t0 = time.monotonic()
    deadline = t0 + COMMAND_SECONDS
    attempts, codes = 0, []
    while True:
        attempts += 1
        a = post(query, key)
        res = (a.get("data") or {}).get("c") if isinstance(a, dict) else None
        errs = a.get("errors") or [] if isinstance(a, dict) else []
        code = ((errs[0].get("extensions") or {}).get("code") if errs else None) or "NONE"
        if code == "UNAVAILABLE" and "shutting down" in errs[0].get("message", ""):
            code = "SHUTTING_DOWN"  # a pod the Service still routed to after its SIGTERM
        now = time.monotonic()
        line = {"command": name, "id": id_, "new": new, "attempts": attempts,
                "t": round(now - START, 2), "ms": int((now - t0) * 1000)}
        if res and not errs:
            line.update(verdict="accepted", version=res["version"], sequence=res["sequence"])
        elif code in REFUSED:
            line.update(verdict="refused", code=code, message=errs[0].get("message", "")[:200])
        elif time.monotonic() > deadline:
            line.update(verdict="unknown", codes=codes[-5:], message=str(errs[:1])[:300])
        else:
            codes.append(code)
            time.sleep(0.2)
            continue
        if codes:
            line["retried"] = sorted(set(codes))
        print(json.dumps(line), flush=True)
        return line["verdict"]


def main():
    i = 0
    while not os.path.exists(STOP) and time.monotonic() - START < MAX_SECONDS:
        t0 = time.monotonic()
        r, n = "r%d" % i, "n%d" % i
        send("createOrder", r, False, 'createOrder(input: {id: "%s", customer: "c%d", total: %d})' % (r, i, i + 1))
        if i % 2:
            send("cancelOrder", r, False, 'cancelOrder(id: "%s", input: {reason: "r%d"})' % (r, i))
        else:
            send("shipOrder", r, False, 'shipOrder(id: "%s", input: {carrier: "ups"})' % r)
        if NEW_MODEL:
            send("updateOrder", r, True, 'updateOrder(id: "%s", input: {note: "u%d", status: ON_HOLD})' % (r, i))
        send("updateOrder", r, False, 'updateOrder(id: "%s", input: {carrier: "dhl"})' % r)
        if NEW_MODEL:
            send("createOrder", n, True,
                 'createOrder(input: {id: "%s", customer: "c%d", total: 1, note: "hello"})' % (n, i))
        i += 1
        time.sleep(max(0.0, ROUND_SECONDS - (time.monotonic() - t0)))
    print(json.dumps({"done": True, "rounds": i, "stopped": os.path.exists(STOP)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
