#!/usr/bin/env bash
# Regenerates tests/conformance/expected/*.json: runs Docker Compose v2 (`docker-compose
# config --format json`) once on every case file, and keeps what devstack's resolved
# model can be compared on (see normalise() below and tests/conformance.rs).
#
# Usage: tests/conformance/regen.sh [path/to/docker-compose]
# Needs Compose v2.40.3 (the peer the expectations were made with) and python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
compose="${1:-${DOCKER_COMPOSE:-docker-compose}}"
"$compose" version >/dev/null
rm -rf "$here/expected"
mkdir -p "$here/expected"
export COMPOSE_BIN="$compose" CONFORMANCE_DIR="$here"
python3 - <<'PY'
import json, os, re, subprocess, sys

here = os.environ["CONFORMANCE_DIR"]
compose = os.environ["COMPOSE_BIN"]

def cases():
    for root, dirs, files in os.walk(here):
        dirs[:] = sorted(d for d in dirs if d != "expected")
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                yield os.path.relpath(os.path.join(root, f), here)

def duration(s):
    return s  # Compose already writes Go durations ("1m30s"); devstack's side formats the same way.

def normalise(doc, case_dir):
    def rel(p):
        if isinstance(p, str) and (p == case_dir or p.startswith(case_dir + "/")):
            return "." + p[len(case_dir):]
        return p
    out = {}
    for name, s in sorted((doc.get("services") or {}).items()):
        env = {k: v for k, v in (s.get("environment") or {}).items() if v is not None}
        ports = []
        for p in s.get("ports") or []:
            ports.append("%s|%s|%s|%s" % (p.get("host_ip", ""), p.get("published", ""), p.get("target"), p.get("protocol", "tcp")))
        vols = []
        for v in s.get("volumes") or []:
            vols.append("%s|%s|%s|%s" % (v.get("type"), rel(v.get("source", "")), v.get("target"), "ro" if v.get("read_only") else "rw"))
        deps = {d: "%s|%s" % (c.get("condition"), str(c.get("required", True)).lower()) for d, c in (s.get("depends_on") or {}).items()}
        hc = s.get("healthcheck")
        if hc is not None:
            if hc.get("disable"):
                hc = {"test": ["NONE"]}
            else:
                hc = {k: hc[k] for k in ("test", "interval", "timeout", "retries", "start_period", "start_interval") if k in hc}
        out[name] = {
            "image": s.get("image"),
            "build": rel(s["build"].get("context")) if s.get("build") else None,
            "command": s.get("command"),
            "entrypoint": s.get("entrypoint"),
            "environment": env,
            "ports": sorted(ports),
            "volumes": vols,
            "depends_on": deps,
            "healthcheck": hc,
            "restart": s.get("restart") or "no",
            "user": s.get("user"),
            "working_dir": s.get("working_dir"),
            "labels": s.get("labels") or {},
        }
    return {"services": out}

env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
n = 0
for case in cases():
    path = os.path.join(here, case)
    case_dir = os.path.dirname(path)
    r = subprocess.run([compose, "-p", "conformance", "-f", path, "config", "--format", "json"],
                       cwd=case_dir, env=env, capture_output=True, text=True)
    if r.returncode == 0:
        # `config` writes every literal '$' escaped as '$$' (so its output can be
        # loaded again); the resolved value has one.
        def unescape(v):
            if isinstance(v, str):
                return v.replace("$$", "$")
            if isinstance(v, list):
                return [unescape(x) for x in v]
            if isinstance(v, dict):
                return {k: unescape(x) for k, x in v.items()}
            return v
        data = normalise(unescape(json.loads(r.stdout)), case_dir)
    else:
        # Compose's warnings carry a timestamp; the error is the rest.
        lines = [l for l in r.stderr.splitlines() if not l.startswith("time=")]
        msg = "\n".join(lines).strip().replace(case_dir, ".")
        data = {"compose_error": msg}
    out = os.path.join(here, "expected", case.replace("/", "__") + ".json")
    with open(out, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    n += 1
print(f"{n} expectations written", file=sys.stderr)
PY
