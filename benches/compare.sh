#!/usr/bin/env bash
# devstack beside docker-compose, same stack files, same run, same machine.
#
#   benches/compare.sh            # RUNS=5 by default
#
# Needs a Docker daemon and Debian's busybox-static (for the fixture image; nothing is
# pulled). Installs Debian's docker-compose when missing, builds devstack in release
# mode, then measures min/median/max over RUNS runs of: cold `up --detach` until every
# service is healthy, a no-op `up` on the running stack, `ps`, and `down --volumes`; then
# the log path (lines/s through `devstack logs` beside `docker logs`). Prints a table and
# writes it to benches/results/latest.md. Removes everything it created.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SOCK=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) SOCK=${DOCKER_HOST#unix://} ;; esac
IMAGE=devstack-bench:busybox
WORK=$(mktemp -d /tmp/devstack-bench.XXXXXX)
DS=$PWD/target/release/devstack

api() { curl -fsS --unix-socket "$SOCK" "$@"; }
now_ns() { date +%s%N; }
log() { printf '== %s\n' "$*" >&2; }

cleanup() {
  for p in bench3d bench3c bench10d bench10c benchlogd; do
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
cargo build --release --locked --quiet

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

for n in 3 10; do
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
log "log path: $LINES lines"
logdir=$WORK/logs
mkdir -p "$logdir"
cat >"$logdir/compose.yaml" <<YAML
services:
  flood:
    image: $IMAGE
    command: ["sh", "-c", "seq 1 $LINES; sleep 3600 & wait"]
YAML
"$DS" -p benchlogd -f "$logdir/compose.yaml" up --detach >/dev/null 2>&1
# Wait until the container has printed everything.
until [ "$("$DS" -p benchlogd -f "$logdir/compose.yaml" logs --tail 1 --no-color flood 2>/dev/null | awk '{print $3}')" = "$LINES" ]; do sleep 0.2; done
t0=$(now_ns); got=$("$DS" -p benchlogd -f "$logdir/compose.yaml" logs --no-color flood | wc -l); t1=$(now_ns)
ds_rate=$(( got * 1000000000 / (t1 - t0) ))
if command -v docker >/dev/null 2>&1; then
  t0=$(now_ns); got2=$(docker logs benchlogd-flood-1 2>&1 | wc -l); t1=$(now_ns)
else
  t0=$(now_ns); got2=$(api "http://localhost/containers/benchlogd-flood-1/logs?stdout=1&stderr=1" | wc -l); t1=$(now_ns)
fi
docker_rate=$(( got2 * 1000000000 / (t1 - t0) ))
"$DS" -p benchlogd -f "$logdir/compose.yaml" down >/dev/null 2>&1

# --- table -------------------------------------------------------------------------
mkdir -p benches/results
{
  echo "devstack $(git describe --always --dirty 2>/dev/null || echo '?') vs docker-compose $COMPOSE_VERSION"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), Docker Engine $(api http://localhost/version | python3 -c 'import json,sys; print(json.load(sys.stdin)["Version"])'); $RUNS runs; ms as min / median / max"
  echo
  echo "| what | devstack | docker-compose | ratio (median) |"
  echo "| --- | --- | --- | --- |"
  for n in 3 10; do
    for k in cold noop ps down; do
      d=${RESULTS[d$n.$k]}; c=${RESULTS[c$n.$k]}
      label=$k
      case $k in cold) label="cold up until healthy" ;; noop) label="no-op up" ;; ps) label="ps" ;; down) label="down --volumes" ;; esac
      ratio=$(python3 -c "print(f'{$(median "$d")/max($(median "$c"),1):.2f}x')")
      echo "| $n services: $label | $(stats "$d") | $(stats "$c") | $ratio |"
    done
  done
  echo "| logs of $LINES lines (lines/s) | $ds_rate | docker logs: $docker_rate | $(python3 -c "print(f'{$ds_rate/max($docker_rate,1):.2f}x')") |"
} | tee benches/results/latest.md
