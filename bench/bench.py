#!/usr/bin/env python3
"""bench/bench.py — scripts/bench: every benchmark against its reference, in one run.

    scripts/bench [--quick] [--only GROUP,...] [--before BINARY] [--seconds S]
                  [--out DIR] [--docs] [--build DIR] [--cache sqlite|postgresql]

Builds Byron in Release (tests off, as the images), starts the real servers
(scripts/testenv; FerretDB on PostgreSQL by default), runs each group's
benchmarks and their references side by side, and writes to DIR (default
bench-results/<time>): results.json, summary.md (the table docs/benchmarks.md
is regenerated from with --docs), latency.png (latency against offered load,
command and query paths), logs/.

--quick is CI's smoke test: short runs, one configuration each; it checks
that every benchmark ran and produced numbers (a benchmark that failed or
produced none fails the run) and asserts nothing about speed.

Groups: commands, graphql, cache, sink, fanout, operator (docs/benchmarks.md).
"""
import argparse
import datetime
import importlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lib import CACHE, ROOT, Procs, smaps_summary  # noqa: E402

GROUPS = ["commands", "graphql", "cache", "sink", "fanout", "operator"]
MODULES = {"graphql": "graphql_engine",  # bench/graphql/ is a folder of scripts
           "operator": "operator_bench"}  # the standard library has an operator module
TARGETS = {"commands": ["bench_sidecar_commands", "bench_link_floor"], "graphql": ["bench_graphql_engine"], "cache": ["bench_cache"],
           "sink": ["bench_sink", "bench_sidecar_commands"], "fanout": [], "operator": ["byron-operator", "bench_operator", "bench_link_floor"]}


class Ctx:
    def __init__(self, args, out, build, env):
        self.quick, self.out, self.build, self.env = args.quick, out, build, env
        self.secs = args.seconds or (1 if args.quick else 5)
        self.sidecar = str(build / "sidecar/byron-sidecar")
        self.before = args.before
        self.procs = Procs(out / "logs")
        self._seq = 0

    def bin(self, name):
        for sub in ("sidecar", "operator", "bench", ""):
            p = self.build / sub / name
            if p.exists():
                return p
        raise FileNotFoundError(name)

    def seq(self):
        self._seq += 1
        return self._seq

    def log(self, msg):
        print(msg, flush=True)


def sh(argv, **kw):
    print("+ " + " ".join(str(a) for a in argv), flush=True)
    subprocess.run(argv, check=True, **kw)


def read_env(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


def machine():
    load = os.getloadavg()
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = 0
    try:
        mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) // 1024 // 1024
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "mem_gib": mem, "kernel": platform.release(),
            "load": [round(x, 2) for x in load]}


def fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return "—"
    if unit in ("MiB",):
        return "%.1f" % v
    if abs(v) >= 100:
        return "{:,.0f}".format(v).replace(",", " ")
    return "%.2f" % v if abs(v) < 10 else "%.1f" % v


def summary(rows, info):
    lines = ["| group | case | Byron | reference | ratio | p50 ms (B / ref) | p99 ms (B / ref) | RSS MiB | goal |",
             "|---|---|---:|---|---:|---:|---:|---:|---|"]
    for r in rows:
        b, ref = r["byron"], r.get("reference") or {}
        unit = r["unit"]
        ratio = r.get("ratio")
        lat = lambda k: ("%s / %s" % (fmt(b.get(k)), fmt(ref.get(k))) if ref.get(k) is not None
                         else fmt(b.get(k))) if b.get(k) is not None else "—"
        refcell = ("%s %s (%s)" % (fmt(ref.get("value")), unit, r["ref_name"])) if ref else "—"
        lines.append("| %s | %s | %s %s | %s | %s | %s | %s | %s | %s |" % (
            r["group"], r["case"], fmt(b.get("value"), unit), unit, refcell,
            ("%.0f %%" % (ratio * 100)) if ratio is not None else "—", lat("p50"), lat("p99"),
            fmt(b.get("rss") / 1024, "MiB") if b.get("rss") else "—", r.get("goal", "")))
    head = ("%s; %d CPUs (%s), %d GiB; load average %s at the start, %s at the end; commit %s, %s build; "
            "cache: FerretDB 1.24 on %s%s" % (
                info["date"], info["machine"]["cpus"], info["machine"]["cpu"], info["machine"]["mem_gib"],
                " ".join(str(x) for x in info["machine"]["load"]), " ".join(str(x) for x in info["load_end"]),
                info["commit"], info["build_type"], info["cache"], "; --quick (a smoke: not figures)"
                if info["quick"] else ""))
    return head + "\n\n" + "\n".join(lines) + "\n"


def plot(out, plots):
    """latency.png: p50 and p99 against offered load (gnuplot), one panel per path."""
    panels = [(k, v) for k, v in plots.items() if v]
    if not panels:
        return None
    script = ["set terminal pngcairo size 1200,%d font 'sans,10'" % (420 * len(panels))
              if has_pngcairo() else "set terminal png size 1200,%d" % (420 * len(panels)),
              "set output '%s'" % (out / "latency.png"), "set multiplot layout %d,1" % len(panels),
              "set grid", "set key left top", "set logscale y", "set xlabel 'offered load (operations/s)'",
              "set ylabel 'latency (ms)'"]
    for name, series in panels:
        script.append("set title '%s path: latency against offered load (open loop)'" % name)
        cmds = []
        for side, pts in series.items():
            f = out / ("plot-%s-%s.dat" % (name, side.replace(" ", "_")))
            f.write_text("".join("%s %s %s\n" % (p["offered"], p["p50"], p["p99"]) for p in pts))
            cmds.append("'%s' using 1:2 with linespoints title '%s p50'" % (f, side))
            cmds.append("'%s' using 1:3 with linespoints title '%s p99'" % (f, side))
        script.append("plot " + ", ".join(cmds))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
    return out / "latency.png"


def has_pngcairo():
    r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (r.stdout + r.stderr)


def regenerate_docs(summary_md, info, extra_md):
    """docs/benchmarks.md: the part between the summary markers is the run's."""
    doc = ROOT / "docs/benchmarks.md"
    text = doc.read_text()
    begin, end = "<!-- scripts/bench summary: begin -->", "<!-- scripts/bench summary: end -->"
    body = begin + "\n" + summary_md + "\n" + extra_md + end
    if begin in text and end in text:
        text = text[:text.index(begin)] + body + text[text.index(end) + len(end):]
    else:
        raise RuntimeError("docs/benchmarks.md lacks the summary markers")
    doc.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--before", help="a byron-sidecar binary to compare with (commands: issue 10, commit 3466946; cache: any; graphql: the bench_graphql_engine beside it)")
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--build")
    ap.add_argument("--docs", action="store_true", help="regenerate docs/benchmarks.md's summary")
    ap.add_argument("--cache", default="postgresql", choices=["postgresql", "sqlite"])
    ap.add_argument("--no-bootstrap", action="store_true")
    ap.add_argument("--docs-from", metavar="DIR", help="regenerate docs/benchmarks.md from an earlier run's results")
    args = ap.parse_args()
    if args.docs_from:
        d = json.loads((Path(args.docs_from) / "results.json").read_text())
        png = Path(args.docs_from) / "latency.png"
        regenerate_docs(summary(d["rows"], d["info"]), d["info"], extra_docs(d["extra"], png if png.exists() else None))
        print("docs/benchmarks.md regenerated from %s" % args.docs_from)
        return 0
    groups = [g for g in (args.only.split(",") if args.only else GROUPS) if g]
    for g in groups:
        if g not in GROUPS:
            ap.error("unknown group %r (%s)" % (g, ", ".join(GROUPS)))

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or ROOT / "bench-results" / stamp).resolve()
    out.mkdir(parents=True, exist_ok=True)
    build = Path(args.build or ROOT / "build-bench").resolve()
    if not args.no_bootstrap:
        sh([str(ROOT / "scripts/bootstrap"), "bench"])
    if args.build and (build / "CMakeCache.txt").exists():
        # A build of the caller's (CI's smoke reuses the test build): its own type.
        build_type = next((l.split("=", 1)[1].strip() for l in open(build / "CMakeCache.txt")
                           if l.startswith("CMAKE_BUILD_TYPE:")), "?")
    else:
        build_type = "Release"
        sh(["cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
            "-DBYRON_TESTS=OFF"], stdout=subprocess.DEVNULL)
    sh(["cmake", "--build", str(build), "-j", str(os.cpu_count() or 2), "--target", "byron-sidecar"] +
       [t for g in groups for t in TARGETS[g]])

    tenv = out / "testenv"
    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(), "quick": args.quick, "cache": args.cache,
            "build_type": build_type,
            "commit": subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                     capture_output=True, text=True).stdout.strip()}
    sh([str(ROOT / "scripts/testenv"), "start", str(tenv)], env={**os.environ, "BYRON_TESTENV_CACHE": args.cache})
    rows, plots, extra, failed = [], {}, {}, []
    try:
        env = {**os.environ, **read_env(tenv / "env"), "BYRON_TESTENV": str(tenv / "env")}
        ctx = Ctx(args, out, build, env)
        for g in groups:
            print("== %s" % g, flush=True)
            t0 = time.monotonic()
            try:
                mod = importlib.import_module(MODULES.get(g, g))
                r, p, x = mod.run(ctx)
                if not r:
                    raise RuntimeError("no figures")
                for x_row in r:
                    if x_row["byron"].get("value") is None:
                        raise RuntimeError("%s: no figure" % x_row["case"])
                rows += r
                plots.update(p or {})
                extra[g] = x
            except Exception as e:  # a failed benchmark fails the run, after the others ran
                traceback.print_exc()
                failed.append("%s: %s" % (g, e))
            finally:
                ctx.procs.stop_all()
            print("   (%s: %.0f s)" % (g, time.monotonic() - t0), flush=True)
        failed += ["%s: %s" % f for f in ctx.procs.failures]
    finally:
        subprocess.run([str(ROOT / "scripts/testenv"), "stop", str(tenv)])
    info["load_end"] = [round(x, 2) for x in os.getloadavg()]
    md = summary(rows, info)
    (out / "results.json").write_text(json.dumps({"info": info, "rows": rows, "plots": plots, "extra": extra},
                                                 indent=1, default=str))
    (out / "summary.md").write_text(md)
    png = plot(out, plots) if plots else None
    print("\n" + md)
    if png:
        print("plot: %s" % png)
    print("results: %s" % out)
    if args.docs and not failed:
        regenerate_docs(md, info, extra_docs(extra, png))
        print("docs/benchmarks.md regenerated")
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def extra_docs(extra, png):
    """What the table cannot hold, in a few lines: plans, waits, memory, images."""
    out = []
    if png:
        shutil.copyfile(png, ROOT / "docs/benchmarks-latency.png")
        out.append("![latency against offered load](benchmarks-latency.png)\n")
    c = extra.get("commands") or {}
    if c:
        sm = c.get("sidecar idle, smaps_rollup (KiB)") or {}
        out.append("- api sidecar idle: RSS %.1f MiB = %.1f MiB anonymous (heap, stacks, relocated library "
                   "data) + %.1f MiB pages of the binary and its libraries; largest objects (KiB): %s. "
                   "Start-ups to ready (ms): %s." % (
                       c["sidecar idle"] / 1024, sm.get("Anonymous", 0) / 1024,
                       (c["sidecar idle"] - sm.get("Anonymous", 0)) / 1024,
                       smaps_summary(c.get("sidecar idle by object (KiB)") or {}, 8),
                       ", ".join("%.0f" % x for x in c.get("startup ms (5 starts)", []))))
        if c.get("sidecar libraries alone"):
            out.append("- Its shared libraries loaded by a program that does nothing else (bench_link_floor): "
                       "%.1f MiB; largest (KiB): %s." % (c["sidecar libraries alone"] / 1024, smaps_summary(
                           c.get("sidecar libraries alone by object (KiB)") or {}, 8)))
        for conc, w in sorted((c.get("state wait") or {}).items(), key=lambda kv: int(kv[0])):
            out.append("- shipOrder right after its create, c=%s: the api waited %.1f ms on average for the "
                       "exact state; the sink took %.1f ms per event and projected events %.1f ms after their "
                       "time (means of byron_sidecar_command_state_wait_seconds, byron_sink_projection_seconds, "
                       "byron_sink_event_age_seconds)." % (
                           conc, w["api"]["mean_ms"] or 0, w["sink projection"]["mean_ms"] or 0,
                           w["sink event age"]["mean_ms"] or 0))
    for name, plans in (extra.get("cache") or {}).items():
        out.append("- %s, PostgreSQL plans (FerretDB's explain): by id %s; list %s." % (
            name.capitalize(), " → ".join(plans["byid"]["plan"]), " → ".join(plans["list"]["plan"])))
    f = extra.get("fanout") or {}
    if f:
        out.append("- Fan-out: %d stream consumer(s) for %d subscribers; sidecar RSS %.1f MiB idle, %.1f MiB with "
                   "them (%.1f KiB per subscriber)." % (f["stream_consumers"] or 0, f["subscribers"],
                                                        f["sidecar_rss_idle_mib"], f["sidecar_rss_mib"],
                                                        f["rss_per_subscriber_kib"]))
    o = extra.get("operator") or {}
    if o:
        out.append("- Operator RSS: %.1f MiB idle, %.1f MiB with the components (peak %.1f MiB)." % (
            o["operator_rss_kib"]["idle"] / 1024, o["operator_rss_kib"]["loaded"] / 1024,
            o["operator_rss_kib"]["peak"] / 1024))
        if o.get("operator idle by object (KiB)"):
            out.append("- Operator idle, largest objects (KiB): %s." % smaps_summary(o["operator idle by object (KiB)"], 8))
        if o.get("operator libraries alone"):
            out.append("- Its shared libraries loaded by a program that does nothing else (bench_link_floor): "
                       "%.1f MiB; largest (KiB): %s." % (o["operator libraries alone"] / 1024, smaps_summary(
                           o.get("operator libraries alone by object (KiB)") or {}, 8)))
        sizes = o.get("image_sizes_mib")
        if isinstance(sizes, dict):
            out.append("- Image sizes (MiB, the e2e tier's image tarballs in the cache): " +
                       ", ".join("%s %.1f" % kv for kv in sizes.items()) + ".")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
