"""bench/lib.py — what every benchmark of scripts/bench needs: the servers'
environment, processes that are always stopped, sidecars started and probed,
RSS, free ports, one result row format.

No timing decides anything here: a deadline only bounds a wait, and what is
measured is recorded, never compared with a limit."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("BYRON_CACHE", Path.home() / ".cache" / "byron"))
sys.path.insert(0, str(ROOT / "sidecar/tests"))
from graphql_clients_it import free_port  # noqa: E402,F401  (re-exported to the benchmarks)



def http_get(url, timeout=2.0):
    """(status, body) of a GET; (0, b"") when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def http_post_json(url, body, timeout=10.0, headers=None):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def unix_listening(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def rss_kib(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def smaps_by_object(pid):
    """Resident memory of PID per mapped object, from /proc/PID/smaps: the
    shared library, the binary (by file name), [heap], [stack] or [anon]
    (thread stacks, malloc arenas) -> {"rss", "private_dirty", "anon"} in KiB,
    largest first. private_dirty of a library is its relocated data; in an
    image every page is the process's own (nothing shares its files), so the
    whole RSS counts, shared with other processes on this host or not."""
    objs = {}
    cur = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                head = line.split()
                if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                    name = head[5] if len(head) > 5 else "[anon]"
                    cur = objs.setdefault(os.path.basename(name) if name.startswith("/") else name,
                                          {"rss": 0, "private_dirty": 0, "anon": 0})
                elif cur is not None and head[0] in ("Rss:", "Private_Dirty:", "Anonymous:"):
                    cur[{"Rss:": "rss", "Private_Dirty:": "private_dirty", "Anonymous:": "anon"}[head[0]]] += int(head[1])
    except OSError:
        return {}
    return dict(sorted(((k, v) for k, v in objs.items() if v["rss"]), key=lambda kv: -kv[1]["rss"]))


def smaps_summary(objs, top=12):
    """One log line: the largest objects of smaps_by_object, 'name rss' in KiB."""
    return ", ".join("%s %d" % (k, v["rss"]) for k, v in list(objs.items())[:top])


def link_floor(helper, binary):
    """What BINARY's shared libraries (its DT_NEEDED entries, read with
    readelf) cost a process that loads them and does nothing else
    (bench/memory/link_floor.c): (VmRSS KiB, smaps_by_object)."""
    dyn = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    libs = [line.split("[", 1)[1].rstrip("]") for line in dyn.splitlines() if "(NEEDED)" in line]
    p = subprocess.Popen([str(helper)] + libs, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("bench_link_floor %s: exited %s" % (" ".join(libs), p.wait(10)))
        return rss_kib(p.pid), smaps_by_object(p.pid)
    finally:
        p.stdin.close()
        p.wait(10)


def wait_until(what, check, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError("%s: not within %.0f s" % (what, timeout))
        time.sleep(0.005)


class Procs:
    """Every process a benchmark starts, stopped when it ends (or the run fails)."""

    def __init__(self, logdir):
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.procs = []
        self.failures = []  # (name, exit status) of processes that exited badly

    def start(self, name, argv, env=None, cwd=None):
        log = open(self.logdir / ("%s.log" % name), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
        p.bench_name = name
        log.close()
        self.procs.append(p)
        return p

    def stop(self, p, grace=10.0):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                self.failures.append((p.bench_name, "killed after %.0f s" % grace))
        elif p.returncode != 0:
            self.failures.append((p.bench_name, "exited %d before it was stopped" % p.returncode))
        if p.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL) and p.returncode is not None:
            self.failures.append((p.bench_name, "exit status %d" % p.returncode))
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p)


def flags_of(binary):
    """The long flags a byron-sidecar build knows (an older build lacks some)."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    out += subprocess.run([binary, "--help"], capture_output=True, text=True).stderr
    return {w.split("=")[0].rstrip(",") for w in out.split() if w.startswith("--")}


class Sidecar:
    """A byron-sidecar process (api or sink), ready when /readyz says 200."""

    def __init__(self, procs, binary, mode, config, env, name, app_socket=None, workers=None, extra=(),
                 extra_env=None):
        self.binary, self.mode, self.procs = binary, mode, procs
        self.port, self.admin = free_port(), free_port()
        flags = flags_of(binary)
        argv = [binary, "--mode=" + mode, "--config", str(config), "--nats-url", env["BYRON_NATS_URL"],
                "--mongo-uri", env["BYRON_MONGO_URI"], "--http-port", str(self.port), "--bind", "127.0.0.1",
                "--sidecar-socket", "", "--log-level", "warn"]
        if "--admin-port" in flags:
            argv += ["--admin-port", str(self.admin)]
        else:
            self.admin = self.port  # older builds: probes on the public port
        if "--rest-over-tcp" in flags and mode == "api":
            argv += ["--rest-over-tcp"]
        if app_socket:
            argv += ["--app-socket", str(app_socket)]
        if workers:
            argv += ["--workers", str(workers)]
        argv += list(extra)
        t0 = time.monotonic()
        self.p = procs.start(name, argv, env=extra_env)
        self.url = "http://127.0.0.1:%d" % self.port
        wait_until("%s ready" % name, lambda: self.p.poll() is not None or
                   http_get("http://127.0.0.1:%d/readyz" % self.admin, 1)[0] == 200, 60)
        if self.p.poll() is not None:
            raise RuntimeError("%s exited %d (log: %s)" % (name, self.p.returncode,
                                                           procs.logdir / ("%s.log" % name)))
        self.startup_ms = (time.monotonic() - t0) * 1000

    def rss(self):
        return rss_kib(self.p.pid)

    def peak(self):
        return rss_kib(self.p.pid, "VmHWM")

    def stop(self):
        self.procs.stop(self.p)


def orders_config(path, component, partitions=None, source=None, auth=True):
    """The orders example's component (examples/orders/component.yaml) as the
    operator's component.json, anonymous callers allowed (as in the tests)."""
    import yaml  # Debian's python3-yaml, as the integration harness uses

    spec = yaml.safe_load(open(source or ROOT / "examples/orders/component.yaml"))["spec"]
    c = {k: v for k, v in spec.items() if k not in ("api", "sink", "cache", "broker")}
    c.pop("auth", None)  # the example's issuer is the cluster's; here callers are anonymous
    if auth:  # builds before identity (issue 11) know no auth block
        c["auth"] = {"rules": [{"operations": ["*"], "anonymous": True}]}
    c["component"], c["namespace"] = component, "bench"
    if partitions:
        c["partitions"] = partitions
    Path(path).write_text(json.dumps(c))
    return Path(path)


class ExampleApp:
    """The orders example app (examples/orders/app) on a Unix socket."""

    def __init__(self, procs, sock, name="orders-app"):
        self.sock = str(sock)
        self.p = procs.start(name, ["python3", str(ROOT / "examples/orders/app/main.py")],
                             env={"EXAMPLE_APP": "orders", "BYRON_APP_SOCKET": self.sock,
                                  "PYTHONDONTWRITEBYTECODE": "1"})
        wait_until("app socket", lambda: self.p.poll() is not None or unix_listening(self.sock), 30)
        if self.p.poll() is not None:
            raise RuntimeError("example app exited %d" % self.p.returncode)


def row(group, case, byron, reference=None, ref_name="", unit="ops/s", note="", higher_is_better=True, **kw):
    """One line of the summary: byron and reference are dicts with at least
    'value' and optionally p50/p99 (ms) and rss (KiB)."""
    r = {"group": group, "case": case, "unit": unit, "byron": byron, "reference": reference,
         "ref_name": ref_name, "note": note, "higher_is_better": higher_is_better}
    if reference and reference.get("value"):
        r["ratio"] = byron["value"] / reference["value"]
    r.update(kw)
    return r


def interleaved(rounds, runs):
    """Run each of runs {name: fn() -> result} once per round, in turn, so
    that every side sees the same moments of a shared, noisy machine; returns
    {name: [result per round]}."""
    out = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            out[name].append(fn())
    return out


def combine(results):
    """Rounds of one load run → one figure: throughput summed over the rounds'
    time, p50/p99 the median of the rounds' (each round is one slice of time)."""
    med = lambda xs: sorted(xs)[len(xs) // 2] if xs else None
    n = sum(r.get("n", 0) for r in results)
    secs = sum(r.get("seconds", 0) for r in results)
    return {"value": n / secs if secs else med([r["ops"] for r in results]), "p50": med([r["p50"] for r in results]),
            "p99": med([r["p99"] for r in results]), "errors": sum(r.get("errors", 0) for r in results),
            "rounds": [round(r["ops"], 1) for r in results]}
