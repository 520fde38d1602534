#!/usr/bin/env python3
"""chart_values.py CHART — the chart's values are honest (issue 12, "Chart honesty").

1. `helm lint --strict` passes with every values file: the defaults (values.yaml)
   and each example in CHART/ci/ (3-server NATS with TLS, namespaced mode, an
   existing NATS, NATS without authentication).
2. values.schema.json refuses what it must: an unknown key (a typo), a value
   outside its enum, a malformed size — and names the value.
3. Every value does something: for each leaf of values.yaml, a render with that
   one value changed differs from the render with the defaults (a value no
   template reads would render the same).

Exit 0, or 1 with one line per problem. Needs helm on PATH (scripts/bootstrap
cluster builds it)."""
import json
import os
import subprocess
import sys
import tempfile

import yaml

CHART = sys.argv[1]
KUBE = ["--kube-version", "1.36.0"]
problems = []


def helm(*args):
    r = subprocess.run(["helm", *args], capture_output=True, text=True)
    err = "\n".join(l for l in r.stderr.splitlines() if "found symbolic link" not in l)
    return r.returncode, r.stdout, err


def render(*files):
    args = ["template", "t", CHART, "-n", "ns", *KUBE]
    for f in files:
        args += ["-f", f]
    rc, out, err = helm(*args)
    return rc, out, err


def values_file(d):
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    yaml.safe_dump(d, f)
    f.close()
    return f.name


# 1. lint with every values file
files = [os.path.join(CHART, "values.yaml")] + sorted(
    os.path.join(CHART, "ci", f) for f in os.listdir(os.path.join(CHART, "ci")) if f.endswith(".yaml"))
for f in files:
    rc, out, err = helm("lint", "--strict", CHART, "-f", f, *KUBE)
    if rc != 0:
        problems.append(f"helm lint --strict with {f} fails: {(out + err).strip()[-400:]}")
    rc, out, err = render(f)
    if rc != 0:
        problems.append(f"helm template with {f} fails: {err.strip()[-400:]}")

# 2. the schema refuses, naming the value
refusals = [
    ({"nats": {"repicas": 3}}, "repicas"),
    ({"operator": {"logLevel": "loud"}}, "/operator/logLevel"),
    ({"broker": {"maxBytes": "10Xi"}}, "/broker/maxBytes"),
    ({"nats": {"replicas": 2}}, "/nats/replicas"),
    ({"broker": {"replicas": 3}}, "nats.replicas: 3"),  # a template rule, not the schema
]
for bad, named in refusals:
    rc, out, err = render(values_file(bad))
    if rc == 0 or named not in err:
        problems.append(f"values {json.dumps(bad)} were not refused naming {named!r}: rc {rc}: {err.strip()[-300:]}")

# 3. every value does something
defaults = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))


def leaves(d, path=()):
    for k, v in d.items():
        if isinstance(v, dict) and v:
            yield from leaves(v, path + (k,))
        else:
            yield path + (k,), v


# A value that only acts together with another is changed with it on both sides.
context = {
    ("nats", "url"): {"nats": {"enabled": False, "url": "nats://base:4222", "auth": {"identitySecret": "id"}}},
    ("nats", "tls", "secretName"): {"nats": {"tls": {"enabled": True, "secretName": "a"}}},
    ("nats", "tls", "enabled"): {"nats": {"tls": {"secretName": "a"}}},
    ("broker", "replicas"): {"nats": {"replicas": 3}},
    ("nats", "enabled"): {"nats": {"url": "nats://elsewhere:4222", "auth": {"identitySecret": "id"}}},
    ("monitoring", "scrape", "labels"): {"monitoring": {"scrape": {"enabled": True}}},
    ("monitoring", "scrape", "interval"): {"monitoring": {"scrape": {"enabled": True}}},
    ("monitoring", "prometheusRule", "labels"): {"monitoring": {"prometheusRule": {"enabled": True}}},
    ("monitoring", "prometheusRule", "commandErrorRate"): {"monitoring": {"prometheusRule": {"enabled": True}}},
    ("monitoring", "dashboard", "labels", "grafana_dashboard"): {"monitoring": {"dashboard": {"enabled": True}}},
}
alternatives = {
    ("operator", "logLevel"): "debug",
    ("operator", "image", "pullPolicy"): "Always",
    ("nats", "image", "pullPolicy"): "Always",
    ("operator", "replicas"): 2,
    ("nats", "replicas"): 3,
    ("broker", "replicas"): 3,
    ("nats", "url"): "nats://elsewhere:4222",
    ("nats", "tls", "secretName"): "b",
    ("operator", "watchNamespaces"): ["a"],
    ("operator", "tolerations"): [{"key": "k", "operator": "Exists"}],
    ("operator", "affinity"): {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "Exists"}]}]}}},
    ("broker", "maxBytes"): "2Gi",
    ("nats", "storage", "size"): "3Gi",
    ("nats", "jetstream", "maxFileStore"): "7G",
    ("nats", "jetstream", "maxMemoryStore"): "32M",
    ("cache", "uriOptions"): "authMechanism=PLAIN",
    ("networkPolicy", "monitoringNamespace"): "monitoring",
    ("monitoring", "scrape", "interval"): "15s",
    ("monitoring", "prometheusRule", "commandErrorRate"): 0.5,
}


def nest(path, value, into=None):
    d = into if into is not None else {}
    cur = d
    for k in path[:-1]:
        cur = cur.setdefault(k, {})
    cur[path[-1]] = value
    return d


def merge(a, b):
    out = json.loads(json.dumps(a))
    for k, v in b.items():
        out[k] = merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


for path, value in leaves(defaults):
    if path in alternatives:
        alt = alternatives[path]
    elif isinstance(value, bool):
        alt = not value
    elif isinstance(value, int):
        alt = value + 1
    elif isinstance(value, dict):
        alt = {"example.com/k": "v"}
    elif isinstance(value, str):
        alt = (value or "x") + "-changed" if "cpu" not in path[-1] else "75m"
        if path[-1] in ("memory",):
            alt = "99Mi"
        if path[-1] == "cpu":
            alt = "75m"
    else:
        problems.append(f"{'.'.join(path)}: no alternative known for {value!r}")
        continue
    ctx = context.get(path, {})
    base = values_file(ctx)
    variant = values_file(merge(ctx, nest(path, alt)))
    rc1, out1, err1 = render(base)
    rc2, out2, err2 = render(variant)
    name = ".".join(path)
    if rc1 or rc2:
        problems.append(f"{name}: cannot render ({(err1 or err2).strip()[-300:]})")
    elif out1 == out2:
        problems.append(f"{name}: changing it ({value!r} → {alt!r}) changes nothing the chart renders")
    os.unlink(base)
    os.unlink(variant)

for p in problems:
    print("FAIL", p)
if problems:
    sys.exit(1)
print(f"PASS chart values: lint with {len(files)} values files, {len(refusals)} refusals named, "
      f"{sum(1 for _ in leaves(defaults))} values each change the render")
