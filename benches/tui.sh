#!/usr/bin/env bash
# The UI's own cost, measured from outside: under a log flood and idle.
#
#   benches/tui.sh                       # FLOOD_SECS=60 IDLE_SECS=30
#   FLOOD_SECS=20 IDLE_SECS=10 NO_BUILD=1 benches/tui.sh
#   PARTS=idle benches/tui.sh            # flood, idle (default both)
#
# The UI runs in a detached tmux session (200x50) with `--stats-file`.
#
# flood: one service prints `seq 1 …` as fast as it can with the UI open on it. Over
# FLOOD_SECS it measures the UI's ingest (lines/s, from --stats-file) beside what the
# daemon stored meanwhile (the container's newest line is its count: `seq` blocks while
# the log driver is busy, so what it printed is what the daemon stored), the UI's CPU %
# and highest RSS (/proc), its CPU time per line, and key → screen: every ~2 s a probe
# sends `?` and times until tmux shows the help overlay, then Esc until it is gone
# (polling `tmux capture-pane`, so a sample includes a few ms of tmux's own work).
#
# idle: five services each printing one line a second, the UI open on them for
# IDLE_SECS after a 3 s settle: CPU %, RSS, frames drawn per second.
#
# Prints markdown table rows (measure | devstack | peer | ratio | goal | load) and writes
# them to $OUT (default benches/results/tui.md). Removes what it created.
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS=${PARTS:-flood,idle}
FLOOD_SECS=${FLOOD_SECS:-60}
IDLE_SECS=${IDLE_SECS:-30}
SOCK=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) SOCK=${DOCKER_HOST#unix://} ;; esac
IMAGE=devstack-bench:busybox
WORK=$(mktemp -d /tmp/devstack-tui.XXXXXX)
DS=${DS:-$PWD/target/release/devstack}
OUT=${OUT:-benches/results/tui.md}
P=benchtui$$-
SESSION=devstack-tui-$$
part() { case ",$PARTS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
. benches/lib.sh

cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  for p in flood idle; do remove_project "$P$p"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -n "${NO_BUILD:-}" ] || cargo build --release --locked --quiet
import_image

# Opens the UI on project $1 / file $2 writing its counters to $3; prints its pid.
tui_start() {
  tmux new-session -d -s "$SESSION" -x 200 -y 50 "exec '$DS' -p '$1' -f '$2' tui --stats-file '$3'"
  for _ in $(seq 1 100); do [ -s "$3" ] && break; sleep 0.1; done
  tmux list-panes -t "$SESSION" -F '#{pane_pid}'
}
tui_stop() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# The newest line the daemon holds for container $1 (a number, for `seq`).
newest_line() {
  api "http://localhost/containers/$1/logs?stdout=1&stderr=1&tail=1" | tr -d '\000-\011\013-\037' | tail -1 | tr -dc '0-9'
}

ROWS=()
if part flood; then
  dir=$WORK/flood
  mkdir -p "$dir"
  cat >"$dir/compose.yaml" <<YAML
services:
  flood:
    image: $IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; seq 1 1000000000 & wait"]
YAML
  "$DS" -p "${P}flood" -f "$dir/compose.yaml" up --detach >/dev/null
  pid=$(tui_start "${P}flood" "$dir/compose.yaml" "$WORK/flood.jsonl")
  # The start reads the tail of the backlog; measure the steady state after it.
  sleep 3
  load=$(load1)
  c0=$(cpu_ticks "$pid"); t0=$(now_ns); n0=$(newest_line "${P}flood-flood-1")
  # The key probe runs for the whole window; RSS is sampled beside it.
  python3 - "$SESSION" "$FLOOD_SECS" >"$WORK/keys.txt" <<'PY' &
import subprocess, sys, time
session, secs = sys.argv[1], float(sys.argv[2])
def shown():
    out = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
    return "Esc closes" in out
def timed(key, want):
    t = time.monotonic()
    subprocess.run(["tmux", "send-keys", "-t", session, key])
    while shown() != want:
        if time.monotonic() - t > 10:
            return None
    return (time.monotonic() - t) * 1000
end = time.monotonic() + secs - 2
while time.monotonic() < end:
    for key, want in (("?", True), ("Escape", False)):
        ms = timed(key, want)
        print("timeout" if ms is None else f"{ms:.1f}", flush=True)
    time.sleep(1.5)
PY
  probe=$!
  max_rss=0
  for _ in $(seq 1 "$FLOOD_SECS"); do
    sleep 1
    r=$(rss_kb "$pid"); [ "$r" -gt "$max_rss" ] && max_rss=$r
  done
  c1=$(cpu_ticks "$pid"); t1=$(now_ns); n1=$(newest_line "${P}flood-flood-1")
  wait "$probe" || true
  tui_stop
  "$DS" -p "${P}flood" -f "$dir/compose.yaml" down >/dev/null 2>&1
  python3 - "$WORK/flood.jsonl" "$WORK/keys.txt" "$t0" "$t1" "$c0" "$c1" "$n0" "$n1" "$max_rss" "$load" "$FLOOD_SECS" >"$WORK/rows.md" <<'PY'
import json, statistics, sys, os
stats, keys, t0, t1, c0, c1, n0, n1, rss, load, secs = sys.argv[1:]
t0, t1 = int(t0) / 1e9, int(t1) / 1e9
tck = os.sysconf("SC_CLK_TCK")
s = [json.loads(l) for l in open(stats) if l.strip()]
w = [x for x in s if t0 * 1000 <= x["unix_ms"] <= t1 * 1000] or s
a, b = w[0], w[-1]
dt = (b["unix_ms"] - a["unix_ms"]) / 1000
ingest = (b["lines_ingested"] - a["lines_ingested"]) / dt if dt > 0 else 0
stored = (int(n1) - int(n0)) / (t1 - t0)
cpu_s = (int(c1) - int(c0)) / tck
cpu_pct = cpu_s / (t1 - t0) * 100
per_line_us = cpu_s / max(ingest * (t1 - t0), 1) * 1e6
frames = (b["frames"] - a["frames"]) / dt if dt > 0 else 0
k = [x.strip() for x in open(keys) if x.strip()]
ok = [float(x) for x in k if x != "timeout"]
lost = len(k) - len(ok)
kt = f"median {statistics.median(ok):.0f} ms, worst {max(ok):.0f} ms of {len(ok)}" if ok else "-"
if lost:
    kt += f", {lost} not shown within 10 s"
print(f"| UI ingest under a flood, {secs} s (lines/s) | {ingest/1000:.1f}k | daemon stored {stored/1000:.1f}k | {ingest/max(stored,1):.2f}x | ≥ 0.95× | {load} |")
print(f"| UI under that flood: CPU, RSS, CPU per line | {cpu_pct:.0f} % CPU, {int(rss)/1024:.1f} MB, {per_line_us:.2f} µs/line, {frames:.0f} frames/s | - | - | < 100 MB | {load} |")
print(f"| UI under that flood: key → screen (tmux probe) | {kt} | - | - | < 50 ms worst | {load} |")
PY
  while IFS= read -r l; do ROWS+=("$l"); done <"$WORK/rows.md"
fi

if part idle; then
  dir=$WORK/idle
  mkdir -p "$dir"
  {
    echo "services:"
    for i in 1 2 3 4 5; do
      echo "  svc$i:"
      echo "    image: $IMAGE"
      echo "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do echo tick; sleep 1 & wait; done\"]"
    done
  } >"$dir/compose.yaml"
  "$DS" -p "${P}idle" -f "$dir/compose.yaml" up --detach >/dev/null
  pid=$(tui_start "${P}idle" "$dir/compose.yaml" "$WORK/idle.jsonl")
  sleep 3
  load=$(load1)
  f0=$(tail -1 "$WORK/idle.jsonl")
  res=$(sample_proc "$pid" "$IDLE_SECS")
  f1=$(tail -1 "$WORK/idle.jsonl")
  tui_stop
  "$DS" -p "${P}idle" -f "$dir/compose.yaml" down >/dev/null 2>&1
  fps=$(python3 -c 'import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); d=(b["unix_ms"]-a["unix_ms"])/1000; print("%.1f" % ((b["frames"]-a["frames"])/max(d,1e-9)))' "$f0" "$f1")
  ROWS+=("| UI idle, 5 services each logging 1 line/s, $IDLE_SECS s | $res, $fps frames/s | - | - | < 0.3 %, < 15 MB | $load |")
fi

mkdir -p "$(dirname "$OUT")"
printf '%s\n' "${ROWS[@]}" | tee "$OUT"
