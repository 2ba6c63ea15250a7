"""Run inside the bundled stack's api-server (`devstack exec -T api-server python -c ...`):
unpause the example DAG, trigger a run, wait for it to finish; print the run id and its
state; exit 0 only when the run succeeded.

Uses Airflow 3's REST API on localhost with the simple auth manager's admin, whose
password the api-server has in its environment. Standard library only.

Arguments: DAG_ID [RUN_ID]. With RUN_ID it only checks that run's state (after a
recreate: the run must still be recorded, and successful).
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

BASE = "http://localhost:8080"
DAG = sys.argv[1]
RUN = sys.argv[2] if len(sys.argv) > 2 else None


def call(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def until(what, seconds, check):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            sys.exit(f"gave up after {seconds} s waiting for {what}")
        time.sleep(3)


status, body = call(
    "POST",
    "/auth/token",
    {"username": os.environ["AIRFLOW_ADMIN_USER"], "password": os.environ["AIRFLOW_ADMIN_PASSWORD"]},
)
if status not in (200, 201):
    sys.exit(f"login failed: {status} {body}")
token = body["access_token"]

if RUN is None:
    # The dag-processor parses ./dags on its own schedule.
    until("the DAG to be parsed", 300, lambda: True if call("GET", f"/api/v2/dags/{DAG}", token=token)[0] == 200 else None)
    status, body = call("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False}, token)
    if status != 200:
        sys.exit(f"unpause failed: {status} {body}")
    status, body = call("POST", f"/api/v2/dags/{DAG}/dagRuns", {"logical_date": None}, token)
    if status not in (200, 201):
        sys.exit(f"trigger failed: {status} {body}")
    RUN = body["dag_run_id"]


def finished():
    status, body = call("GET", f"/api/v2/dags/{DAG}/dagRuns/{RUN}", token=token)
    if status != 200:
        sys.exit(f"reading run {RUN} failed: {status} {body}")
    return body["state"] if body["state"] in ("success", "failed") else None


state = until(f"run {RUN} to finish", 600, finished)
print(RUN, state)
sys.exit(0 if state == "success" else 1)
