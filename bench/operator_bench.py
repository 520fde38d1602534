"""bench/operator.py — the operator (docs/benchmarks.md, "Operator"): its RSS
idle and its start-up to ready against the testenv's kube-apiserver, and N
ByronComponents created at once until every one has its status and children,
against a plain client writing the same objects (bench_operator raw) in the
same run. Also the sizes of the images, where the e2e tier built them."""
import re
import subprocess
import time

from lib import CACHE, ROOT, free_port, http_get, link_floor, rss_kib, row, smaps_by_object, smaps_summary, wait_until


def bench_operator(ctx, *args):
    out = subprocess.run([str(ctx.bin("bench_operator"))] + [str(a) for a in args],
                         env={**ctx.env, "KUBECONFIG": ctx.env["BYRON_KUBECONFIG"]}, capture_output=True,
                         text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError("bench_operator %s: %s" % (" ".join(map(str, args)), out.stderr[-1000:]))
    m = re.search(r"seconds=([\d.]+) components_per_s=([\d.]+)", out.stdout)
    return {"seconds": float(m.group(1)), "value": float(m.group(2))} if m else None


def image_sizes():
    """The images' tarballs the e2e tier leaves in the cache (not built here)."""
    sizes = {}
    d = CACHE / "images"
    if d.is_dir():
        for tar in sorted(d.glob("*.tar")):
            sizes[tar.stem] = round(tar.stat().st_size / 1024 / 1024, 1)
    return sizes


def run(ctx):
    n = 20 if ctx.quick else 300
    bench_operator(ctx, "crd", ROOT)
    raw = bench_operator(ctx, "raw", "bench-raw", n, 16)
    port = free_port()
    t0 = time.monotonic()
    op = ctx.procs.start("operator", [str(ctx.bin("byron-operator")), "--kubeconfig", ctx.env["BYRON_KUBECONFIG"],
                                      "--namespace", "bench-op", "--workers", "8", "--sidecar-image",
                                      "byron-sidecar:bench", "--default-broker-url", "nats://nats:4222",
                                      "--metrics-port", str(port), "--probe-port", str(port), "--log-level", "warn"])
    wait_until("operator ready", lambda: op.poll() is not None or
               http_get("http://127.0.0.1:%d/readyz" % port, 1)[0] == 200, 60)
    if op.poll() is not None:
        raise RuntimeError("operator exited %d" % op.returncode)
    startup = (time.monotonic() - t0) * 1000
    time.sleep(1)  # informers settled: idle
    idle = rss_kib(op.pid)
    idle_objects = smaps_by_object(op.pid)
    ctx.log("  operator idle: %d KiB; by object (KiB): %s" % (idle, smaps_summary(idle_objects)))
    floor, floor_objects = link_floor(ctx.bin("bench_link_floor"), ctx.bin("byron-operator"))
    ctx.log("  its libraries alone: %d KiB; by object (KiB): %s" % (floor, smaps_summary(floor_objects)))
    res = bench_operator(ctx, "operator", "bench-op", n, 8)
    loaded, peak = rss_kib(op.pid), rss_kib(op.pid, "VmHWM")
    ctx.procs.stop(op)
    ctx.log("  operator: idle %d KiB, at N=%d %d KiB (peak %d); start-up %.0f ms; %s vs raw %s" % (
        idle, n, loaded, peak, startup, res, raw))
    rows = [row("operator", "%d ByronComponents to status + children" % n, dict(res, rss=peak),
                raw, "plain client, same writes, 16 threads", unit="components/s"),
            row("memory", "operator RSS idle", {"value": idle / 1024}, unit="MiB", higher_is_better=False,
                goal="<= 8 MiB"),
            row("memory", "operator's shared libraries, loaded by a program that does nothing else",
                {"value": floor / 1024}, unit="MiB", higher_is_better=False,
                note="bench_link_floor: the floor of the idle RSS with these libraries"),
            row("memory", "operator start-up to ready (API server up)", {"value": startup}, unit="ms",
                higher_is_better=False)]
    sizes = image_sizes()
    return rows, {}, {"operator_rss_kib": {"idle": idle, "loaded": loaded, "peak": peak},
                      "operator idle by object (KiB)": idle_objects, "operator libraries alone": floor,
                      "operator libraries alone by object (KiB)": floor_objects, "startup_ms": startup,
                      "image_sizes_mib": sizes or "not built here (the e2e tier builds them)"}
