#!/usr/bin/env bash
# devstack beside docker-compose, same stack files, same run, same machine.
#
#   benches/compare.sh            # RUNS=5 by default
#   RUNS=1 LINES_FLOOD=100000 FOLLOW_SECS=3 FLOOD_SECS=5 IDLE_SECS=5 benches/compare.sh   # quick
#   PARTS=logs,tui benches/compare.sh                                                      # only those
#   PARTS=crashloop CRASH_SECS=5 NO_BUILD=1 benches/compare.sh                             # one figure
#
# Needs a Docker daemon and Debian's busybox-static (for the fixture image; nothing is
# pulled). Installs Debian's docker-compose when missing, builds devstack in release
# mode, then measures min/median/max over RUNS runs of: cold `up --detach` until every
# service is healthy, a no-op `up` on the running stack, `ps`, and `down --volumes`; then
# the log path (lines/s through `devstack logs` beside `docker logs`, and `logs -f` beside
# `docker logs -f` on a container printing as fast as it can); the TUI under that flood
# (its ingest rate from `--stats-file`, its CPU % and RSS from /proc over FLOOD_SECS) and
# idle with 5 services (over IDLE_SECS; the TUI runs in a detached tmux session). Prints
# a table and writes it to benches/results/latest.md. Removes everything it created.
# The crashloop part measures `logs -f` of a stack whose one service crashes in a loop
# (`restart: on-failure`) beside a steady one: its CPU % over CRASH_SECS shows that
# following a stream that keeps ending waits on the daemon rather than spinning (this
# figure replaced a CPU-time assertion in tests/faults.rs).
#
# PARTS (default stacks,logs,tui,crashloop) picks sections; LINES_FLOOD (1000000),
# FOLLOW_SECS (5, per run), FLOOD_SECS (30), IDLE_SECS (30) and CRASH_SECS (10) size
# them; NO_BUILD=1 skips the build; DS=path runs another devstack binary.
#
# On a live flood the daemon is the bottleneck (dockerd at a full core), and it writes a
# line more slowly when asked for its timestamp: the peer of `devstack logs -f` and of the
# TUI (both need timestamps to merge and to resume exactly) is therefore the daemon's
# API with timestamps (curl), shown beside `docker logs -f` (which asks for none).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
PARTS=${PARTS:-stacks,logs,tui,crashloop}
FOLLOW_SECS=${FOLLOW_SECS:-5}
FLOOD_SECS=${FLOOD_SECS:-30}
IDLE_SECS=${IDLE_SECS:-30}
CRASH_SECS=${CRASH_SECS:-10}
part() { case ",$PARTS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
SOCK=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) SOCK=${DOCKER_HOST#unix://} ;; esac
IMAGE=devstack-bench:busybox
WORK=$(mktemp -d /tmp/devstack-bench.XXXXXX)
DS=${DS:-$PWD/target/release/devstack}

api() { curl -fsS --unix-socket "$SOCK" "$@"; }
now_ns() { date +%s%N; }
log() { printf '== %s\n' "$*" >&2; }

cleanup() {
  for s in $(tmux list-sessions -F '#{session_name}' 2>/dev/null | grep "^devstack-bench-$$-" || true); do
    tmux kill-session -t "$s" 2>/dev/null || true
  done
  for p in bench3d bench3c bench10d bench10c benchlogd benchflood benchidle benchcrash; do
    ids=$(api "http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3D$p%22%5D%7D" 2>/dev/null \
      | python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))' 2>/dev/null || true)
    for id in $ids; do api -X DELETE "http://localhost/containers/$id?force=1&v=1" >/dev/null 2>&1 || true; done
    api -X DELETE "http://localhost/networks/${p}_default" >/dev/null 2>&1 || true
    for v in data logs; do api -X DELETE "http://localhost/volumes/${p}_$v" >/dev/null 2>&1 || true; done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------------------
if ! command -v docker-compose >/dev/null 2>&1; then
  log "installing Debian's docker-compose"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
COMPOSE_VERSION=$(docker-compose version --short 2>/dev/null || docker-compose version | head -1)
log "building devstack (release)"
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked --quiet

# --- fixture image, imported through the API from the host's static busybox ----------
if ! api "http://localhost/images/$IMAGE/json" >/dev/null 2>&1; then
  log "importing $IMAGE from /bin/busybox"
  root=$WORK/rootfs
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  echo ok >"$root/www/index.html"
  tar -C "$root" -cf - . | api -X POST -H 'Content-Type: application/x-tar' --data-binary @- \
    "http://localhost/images/create?fromSrc=-&repo=devstack-bench&tag=busybox&changes=ENV%20PATH%3D%2Fbin" >/dev/null
fi

# --- stacks ------------------------------------------------------------------------
# Long-running services exit on SIGTERM (trap) so `down` measures the tools, not the
# 10 s kill timeout of a PID 1 that ignores the signal.
write_stack() { # $1 = number of services (>= 3)
  local n=$1 dir=$WORK/stack$1
  mkdir -p "$dir/site"
  echo hello >"$dir/site/index.html"
  {
    echo "services:"
    echo "  job:"
    echo "    image: $IMAGE"
    echo "    command: [\"sh\", \"-c\", \"echo migrated > /data/done\"]"
    echo "    volumes: [\"data:/data\"]"
    echo "  web:"
    echo "    image: $IMAGE"
    echo "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait\"]"
    echo "    ports: [\"127.0.0.1::80\"]"
    echo "    volumes: [\"./site:/www:ro\", \"logs:/logs\"]"
    echo "    depends_on: {job: {condition: service_completed_successfully}}"
    echo "    healthcheck: {test: [\"CMD\", \"wget\", \"-q\", \"-O-\", \"http://127.0.0.1/\"], interval: 1s, timeout: 2s, retries: 30}"
    for i in $(seq 1 $((n - 2))); do
      echo "  worker$i:"
      echo "    image: $IMAGE"
      echo "    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do echo tick; sleep 1 & wait; done\"]"
      echo "    volumes: [\"logs:/logs\"]"
    done
    echo "volumes:"
    echo "  data:"
    echo "  logs:"
  } >"$dir/compose.yaml"
  echo "$dir/compose.yaml"
}

# Waits until every container of compose project $1 runs (healthy where it has a
# healthcheck) or exited 0; Compose 1.x has no --wait, so this is its `up --wait`.
compose_wait() {
  local project=$1 filter
  filter=$(python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.dumps({"label":["com.docker.compose.project="+sys.argv[1]]})))' "$project")
  while :; do
    if api "http://localhost/containers/json?all=1&filters=$filter" | python3 -c '
import json, sys
cs = json.load(sys.stdin)
ok = bool(cs) and all(
    (c["State"] == "running" and "(health: starting)" not in c["Status"] and "(unhealthy)" not in c["Status"])
    or (c["State"] == "exited" and c["Status"].startswith("Exited (0)"))
    for c in cs)
sys.exit(0 if ok else 1)'; then return 0; fi
    sleep 0.05
  done
}

declare -A RESULTS
measure() { # $1 = key, rest = command; appends ms
  local t0 t1
  t0=$(now_ns)
  if ! "${@:2}" >"$WORK/out.txt" 2>&1; then
    echo "failed: ${*:2}" >&2
    cat "$WORK/out.txt" >&2
    exit 1
  fi
  t1=$(now_ns)
  RESULTS[$1]="${RESULTS[$1]:-} $(( (t1 - t0) / 1000000 ))"
}

stats() { # "min / median / max" of the ms values in $1
  python3 -c 'import sys, statistics as s; v=sorted(int(x) for x in sys.argv[1].split()); print(f"{v[0]} / {int(s.median(v))} / {v[-1]}")' "$1"
}
median() { python3 -c 'import sys, statistics as s; print(s.median(int(x) for x in sys.argv[1].split()))' "$1"; }

compose_up() { docker-compose -p "$1" -f "$2" up -d && compose_wait "$1"; }

part stacks && for n in 3 10; do
  file=$(write_stack $n)
  log "$n services: $RUNS runs each"
  for _ in $(seq 1 "$RUNS"); do
    measure "d$n.cold" "$DS" -p "bench${n}d" -f "$file" up --detach
    measure "d$n.noop" "$DS" -p "bench${n}d" -f "$file" up --detach
    measure "d$n.ps" "$DS" -p "bench${n}d" -f "$file" ps
    measure "d$n.down" "$DS" -p "bench${n}d" -f "$file" down --volumes
    measure "c$n.cold" compose_up "bench${n}c" "$file"
    measure "c$n.noop" compose_up "bench${n}c" "$file"
    measure "c$n.ps" docker-compose -p "bench${n}c" -f "$file" ps
    measure "c$n.down" docker-compose -p "bench${n}c" -f "$file" down --volumes
  done
done

# --- log path ----------------------------------------------------------------------
LINES=${LINES_FLOOD:-1000000}
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); }
ratio() { python3 -c "print(f'{$1/max($2,1):.2f}x')"; }
# Lines/s that a command prints in $1 seconds (it is stopped then).
rate_for() {
  local secs=$1 got
  got=$(timeout -s INT "$secs" "${@:2}" 2>/dev/null | wc -l || true)
  echo $((got / secs))
}
if part logs; then
  log "log path: $LINES lines"
  logdir=$WORK/logs
  mkdir -p "$logdir"
  cat >"$logdir/compose.yaml" <<YAML
services:
  flood:
    image: $IMAGE
    command: ["sh", "-c", "seq 1 $LINES; trap 'exit 0' TERM; sleep 3600 & wait"]
YAML
  "$DS" -p benchlogd -f "$logdir/compose.yaml" up --detach >/dev/null 2>&1
  # Wait until the container has printed everything.
  until [ "$("$DS" -p benchlogd -f "$logdir/compose.yaml" logs --tail 1 --no-color flood 2>/dev/null | awk '{print $3}')" = "$LINES" ]; do sleep 0.2; done
  ds_rates="" docker_rates=""
  for _ in $(seq 1 "$RUNS"); do
    t0=$(now_ns); got=$("$DS" -p benchlogd -f "$logdir/compose.yaml" logs --no-color flood | wc -l); t1=$(now_ns)
    ds_rates="$ds_rates $(( got * 1000000000 / (t1 - t0) ))"
    if command -v docker >/dev/null 2>&1; then
      t0=$(now_ns); got2=$(docker logs benchlogd-flood-1 2>&1 | wc -l); t1=$(now_ns)
    else
      t0=$(now_ns); got2=$(api "http://localhost/containers/benchlogd-flood-1/logs?stdout=1&stderr=1" | wc -l); t1=$(now_ns)
    fi
    docker_rates="$docker_rates $(( got2 * 1000000000 / (t1 - t0) ))"
  done
  "$DS" -p benchlogd -f "$logdir/compose.yaml" down >/dev/null 2>&1
  # The daemon keeps the newest log files (max-size x max-file), so "all lines" may be fewer.
  row "logs of $LINES lines, $got kept by the daemon (lines/s)" "$(stats "$ds_rates")" "docker logs: $(stats "$docker_rates")" "$(ratio "$(median "$ds_rates")" "$(median "$docker_rates")")"
fi

# --- a live flood: logs -f, and the TUI ------------------------------------------------
# CPU % of one core and the highest RSS of process $1 over $2 seconds, from /proc.
sample_proc() {
  local pid=$1 secs=$2 tck c0 c1 t0 t1 rss max=0
  tck=$(getconf CLK_TCK)
  c0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); t0=$(now_ns)
  for _ in $(seq 1 "$secs"); do
    sleep 1
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    [ "$rss" -gt "$max" ] && max=$rss
  done
  c1=$(awk '{print $14 + $15}' "/proc/$pid/stat"); t1=$(now_ns)
  python3 -c "print(f'{($c1 - $c0) / $tck / (($t1 - $t0) / 1e9) * 100:.1f} % CPU, {$max / 1024:.1f} MB RSS')"
}
# Opens the TUI on project $1 / file $2 in a detached tmux session (200x50) writing its
# counters to $3; prints devstack's pid.
tui_start() {
  local name=devstack-bench-$$-$1
  tmux new-session -d -s "$name" -x 200 -y 50 "exec '$DS' -p '$1' -f '$2' tui --stats-file '$3'"
  for _ in $(seq 1 100); do [ -s "$3" ] && break; sleep 0.1; done
  tmux list-panes -t "$name" -F '#{pane_pid}'
}
tui_stop() { tmux kill-session -t "devstack-bench-$$-$1" 2>/dev/null || true; }
if part tui; then
  log "a live flood: logs -f for ${FOLLOW_SECS}s each, then the TUI for ${FLOOD_SECS}s"
  flooddir=$WORK/flood
  mkdir -p "$flooddir"
  cat >"$flooddir/compose.yaml" <<YAML
services:
  flood:
    image: $IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; seq 1 1000000000 & wait"]
YAML
  "$DS" -p benchflood -f "$flooddir/compose.yaml" up --detach >/dev/null 2>&1
  sleep 1
  f_api="" f_docker="" f_ds=""
  for _ in $(seq 1 "$RUNS"); do
    f_api="$f_api $(rate_for "$FOLLOW_SECS" curl -sN --unix-socket "$SOCK" "http://localhost/containers/benchflood-flood-1/logs?stdout=1&stderr=1&follow=1&tail=0&timestamps=1")"
    f_docker="$f_docker $(rate_for "$FOLLOW_SECS" docker logs -f --tail 0 benchflood-flood-1)"
    f_ds="$f_ds $(rate_for "$FOLLOW_SECS" "$DS" -p benchflood -f "$flooddir/compose.yaml" logs -f --tail 0 --no-color)"
  done
  row "logs -f of a flooding container (lines/s, ${FOLLOW_SECS}s per run)" "$(stats "$f_ds")" "API with timestamps (curl): $(stats "$f_api"); docker logs -f: $(stats "$f_docker")" "$(ratio "$(median "$f_ds")" "$(median "$f_api")") of the API, $(ratio "$(median "$f_ds")" "$(median "$f_docker")") of docker"
  pid=$(tui_start benchflood "$flooddir/compose.yaml" "$WORK/flood-stats.jsonl")
  flood_res=$(sample_proc "$pid" "$FLOOD_SECS")
  tui_stop benchflood
  # Ingest after the first 3 s (the start reads the tail of the backlog first).
  tui_rate=$(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = s[3:] or s
a, b = s[0], s[-1]
dt = (b["unix_ms"] - a["unix_ms"]) / 1000
print(int((b["lines_ingested"] - a["lines_ingested"]) / dt) if dt > 0 else 0)' "$WORK/flood-stats.jsonl")
  frame=$(python3 -c '
import json, sys, statistics
s = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
f = [x["last_frame_us"] for x in s if x["frames"] > 0]
print(f"{statistics.median(f) / 1000:.2f} ms" if f else "-")' "$WORK/flood-stats.jsonl")
  "$DS" -p benchflood -f "$flooddir/compose.yaml" down >/dev/null 2>&1
  row "TUI ingest under that flood (lines/s over ${FLOOD_SECS}s, --stats-file)" "$tui_rate" "API with timestamps (curl): $(stats "$f_api")" "$(ratio "$tui_rate" "$(median "$f_api")") of the API"
  row "TUI under that flood, ${FLOOD_SECS}s (budget < 100 MB)" "$flood_res; frame $frame (median)" "-" "-"

  log "idle TUI with 5 services for ${IDLE_SECS}s"
  file=$(write_stack 5)
  "$DS" -p benchidle -f "$file" up --detach >/dev/null 2>&1
  pid=$(tui_start benchidle "$file" "$WORK/idle-stats.jsonl")
  sleep 2
  idle_res=$(sample_proc "$pid" "$IDLE_SECS")
  tui_stop benchidle
  "$DS" -p benchidle -f "$file" down --volumes >/dev/null 2>&1
  row "TUI idle, 5 services, ${IDLE_SECS}s (budget < 0.3 %, < 15 MB)" "$idle_res" "-" "-"
fi

# --- logs -f of a crash loop ----------------------------------------------------------
if part crashloop; then
  log "logs -f of a crash-looping service beside a steady one for ${CRASH_SECS}s"
  crashdir=$WORK/crash
  mkdir -p "$crashdir"
  cat >"$crashdir/compose.yaml" <<YAML
services:
  crashy:
    image: $IMAGE
    command: ["sh", "-c", "echo boom; exit 3"]
    restart: on-failure
  steady:
    image: $IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
YAML
  "$DS" -p benchcrash -f "$crashdir/compose.yaml" up --detach --wait-timeout 10 >/dev/null 2>&1 || true
  "$DS" -p benchcrash -f "$crashdir/compose.yaml" logs -f --no-color >"$WORK/crash.out" 2>&1 &
  crash_pid=$!
  sleep 1
  crash_res=$(sample_proc "$crash_pid" "$CRASH_SECS")
  kill "$crash_pid" 2>/dev/null || true
  wait "$crash_pid" 2>/dev/null || true
  "$DS" -p benchcrash -f "$crashdir/compose.yaml" down >/dev/null 2>&1
  row "logs -f of a crash loop + a steady service, ${CRASH_SECS}s (must wait, not spin)" "$crash_res; $(grep -c boom "$WORK/crash.out") 'boom' lines" "-" "-"
fi

# --- table -------------------------------------------------------------------------
mkdir -p benches/results
{
  echo "devstack $(git describe --always --dirty 2>/dev/null || echo '?') vs docker-compose $COMPOSE_VERSION"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), Docker Engine $(api http://localhost/version | python3 -c 'import json,sys; print(json.load(sys.stdin)["Version"])'); $RUNS runs; ms as min / median / max"
  echo
  echo "| what | devstack | docker-compose | ratio (median) |"
  echo "| --- | --- | --- | --- |"
  part stacks && for n in 3 10; do
    for k in cold noop ps down; do
      d=${RESULTS[d$n.$k]}; c=${RESULTS[c$n.$k]}
      label=$k
      case $k in cold) label="cold up until healthy" ;; noop) label="no-op up" ;; ps) label="ps" ;; down) label="down --volumes" ;; esac
      ratio=$(python3 -c "print(f'{$(median "$d")/max($(median "$c"),1):.2f}x')")
      echo "| $n services: $label | $(stats "$d") | $(stats "$c") | $ratio |"
    done
  done
  for r in "${ROWS[@]}"; do echo "$r"; done
} | tee benches/results/latest.md
