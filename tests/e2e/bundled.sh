#!/usr/bin/env bash
# End-to-end check of the bundled stack (issue 14, "Done when") on the stand-in images:
#
#   devstack init → up --detach (every service healthy) → the pipeline's rows in the
#   warehouse → the example DAG triggered through Airflow's REST API, its run successful
#   → up -d --force-recreate keeps the rows and the run (with the Postgres stand-in, whose
#   data sits in the image's anonymous VOLUME, this is issue 14 item 1) → stop: dependents
#   before Postgres, every container exits 0 → up -d again (warm) → down, as cleanly.
#
# Prints the time to all healthy, cold (fresh project: pipeline build, initdb, migration)
# and warm (the stopped stack started again), with the load.
# Cleans up (down --volumes, the built pipeline image, the temp dir) on every exit.
#
# Needs: a Docker daemon, the `docker` CLI (to tag images and read events), jq.
# The stand-in images (devstack-offline/{postgres:15,airflow:3,python:3.11-slim}) are
# waited for (another process may be building them); with E2E_BUILD_IMAGES=1 they are
# built with ../shared/images/build.sh (relative to the repository) when missing. They
# are tagged as the names the bundled stack uses (postgres:18.1, apache/airflow:3.4.0,
# python:3.12.13-slim-bookworm); nothing is ever pulled.
#
#   DEVSTACK=path/to/devstack   the binary (default: cargo build --locked, debug)
#   E2E_IMAGE_WAIT=SECONDS      how long to wait for the stand-in images (default 1800)
#   E2E_WAIT_TIMEOUT=SECONDS    devstack's --wait-timeout (default 600)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
image_wait=${E2E_IMAGE_WAIT:-1800}
wait_timeout=${E2E_WAIT_TIMEOUT:-600}

say() { printf '\n== %s\n' "$*" >&2; }
fail() { printf 'e2e FAILED: %s\n' "$*" >&2; exit 1; }

for tool in docker jq; do
	command -v "$tool" >/dev/null || fail "'$tool' is not installed"
done

if [ -z "${DEVSTACK:-}" ]; then
	say "building devstack"
	(cd "$repo" && cargo build --locked)
	DEVSTACK="${CARGO_TARGET_DIR:-$repo/target}/debug/devstack"
fi
[ -x "$DEVSTACK" ] || fail "no devstack binary at '$DEVSTACK'"

# --- the stand-in images, tagged as the stack names them --------------------------------
declare -A tags=(
	[devstack-offline/postgres:15]=postgres:18.1
	[devstack-offline/airflow:3]=apache/airflow:3.4.0
	[devstack-offline/python:3.11-slim]=python:3.12.13-slim-bookworm
)
missing() {
	local m=()
	for image in "${!tags[@]}"; do
		docker image inspect "$image" >/dev/null 2>&1 || m+=("$image")
	done
	echo "${m[@]:-}"
}
if [ -n "$(missing)" ] && [ "${E2E_BUILD_IMAGES:-}" = 1 ]; then
	build="$repo/../shared/images/build.sh"
	[ -f "$build" ] || fail "stand-in images missing ($(missing)) and no '$build' to build them"
	say "building the stand-in images with $build"
	bash "$build" debian postgres python airflow3
fi
waited=0
while [ -n "$(missing)" ]; do
	[ "$waited" -lt "$image_wait" ] || fail "stand-in images still missing after ${image_wait} s: $(missing) (build them with ../shared/images/build.sh, or set E2E_BUILD_IMAGES=1)"
	[ $((waited % 60)) -eq 0 ] && echo "waiting for the stand-in images: $(missing)" >&2
	sleep 5
	waited=$((waited + 5))
done
for image in "${!tags[@]}"; do
	docker tag "$image" "${tags[$image]}"
done

# --- a fresh project in a temp dir, on free ports ----------------------------------------
work=$(mktemp -d)
project="devstack-e2e-$$"
dir="$work/$project"
ds() { (cd "$dir" && "$DEVSTACK" "$@"); }

cleanup() {
	local code=$?
	set +e
	if [ "$code" -ne 0 ] && [ -d "$dir" ]; then
		say "state at the failure"
		ds ps
		ds logs -n 30
	fi
	if [ -f "$dir/devstack.yaml" ]; then
		ds down --volumes >/dev/null 2>&1 || echo "cleanup: 'devstack down --volumes' failed" >&2
	fi
	docker image rm "$project-pipeline" >/dev/null 2>&1
	rm -rf "$work"
	exit "$code"
}
trap cleanup EXIT

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

say "devstack init $dir"
"$DEVSTACK" init "$dir"
sed -i -e "s/^POSTGRES_PORT=.*/POSTGRES_PORT=$(free_port)/" \
	-e "s/^AIRFLOW_PORT=.*/AIRFLOW_PORT=$(free_port)/" "$dir/.env"

load() { cut -d' ' -f1-3 /proc/loadavg; }

# Seconds that `up --detach ARGS` took; fails the check when it fails.
timed_up() {
	local start end
	start=$(date +%s.%N)
	ds up --detach --wait-timeout "$wait_timeout" "$@" >&2 || fail "up --detach $* failed"
	end=$(date +%s.%N)
	awk "BEGIN { print $end - $start }"
}

# Every service running and healthy (when it has a healthcheck), or a job exited 0.
# `up` returns once devstack's own run of each service's probe has passed; Docker's own
# word follows at its next scheduled probe (the stack's interval), so "starting" is
# waited for (up to 180 s) and anything else fails at once.
all_healthy() {
	local json bad hard i
	for i in $(seq 1 90); do
		json=$(ds ps --json)
		bad=$(jq -r '.[] | select(
			(.state == "running" and (.health == "" or .health == "healthy")) or
			(.state == "exited" and .exit_code == 0) | not) | "\(.service): \(.state) \(.health) \(.exit_code)"' <<<"$json")
		[ -z "$bad" ] && return 0
		hard=$(jq -r '.[] | select(
			(.state == "running" and (.health == "" or .health == "healthy" or .health == "starting")) or
			(.state == "exited" and .exit_code == 0) | not) | "\(.service): \(.state) \(.health) \(.exit_code)"' <<<"$json")
		[ -z "$hard" ] || fail "not every service is healthy: $hard"
		sleep 2
	done
	fail "Docker did not call every service healthy within 180 s of up: $bad"
}

orders() {
	ds exec -T postgres sh -c 'psql -U "$POSTGRES_USER" -d warehouse -tAc "SELECT count(*) FROM raw.orders"' | tr -d '[:space:]'
}

# The pipeline is a job: `up` counts it ready while it runs; its rows are there once it
# exited 0.
pipeline_done() {
	local i state
	for i in $(seq 1 120); do
		state=$(ds ps --json | jq -r '.[] | select(.service == "pipeline") | "\(.state) \(.exit_code)"')
		case "$state" in
		"exited 0") return 0 ;;
		exited*) fail "the pipeline failed: $state" ;;
		esac
		sleep 2
	done
	fail "the pipeline did not finish in 240 s"
}

dag_run() {
	ds exec -T api-server python -c "$(cat "$repo/tests/e2e/airflow_dag_run.py")" example_etl "$@"
}

say "cold up --detach (load $(load))"
cold=$(timed_up)
echo "cold: time to all ready (up returned) $cold s" >&2
all_healthy
pipeline_done
rows=$(orders)
[ "${rows:-0}" -gt 0 ] || fail "no rows in the warehouse's raw.orders"
echo "warehouse raw.orders: $rows rows" >&2

say "trigger the example DAG"
run=$(dag_run) || fail "the example DAG's run did not succeed: $run"
run_id=${run% *}
echo "run $run" >&2

say "up -d --force-recreate keeps the data"
recreate=$(timed_up --force-recreate)
all_healthy
[ "$(orders)" = "$rows" ] || fail "the warehouse lost its rows in the recreate ($(orders) of $rows)"
dag_run "$run_id" >/dev/null || fail "the DAG run '$run_id' is gone or not successful after the recreate"

# Runs `devstack ARGS` while following the daemon's events (streamed: its replay buffer
# is short on a busy daemon), then checks that every container that was running exited
# 0, and that Postgres stopped last (after everything that needs it).
stops_cleanly() {
	local running events follower exits nonzero i
	running=$(ds ps --json | jq '[.[] | select(.state == "running")] | length')
	events="$work/events-$1"
	docker events --filter "label=io.devstack.project=$project" --filter event=die \
		--format '{{index .Actor.Attributes "io.devstack.service"}} {{.Actor.Attributes.exitCode}}' \
		>"$events" &
	follower=$!
	# Time for the stream to open; a missed event fails the count check below.
	sleep 2
	ds "$@" >&2 || { kill "$follower"; fail "'devstack $*' failed"; }
	for i in $(seq 1 30); do
		[ "$(wc -l <"$events")" -ge "$running" ] && break
		sleep 1
	done
	kill "$follower" 2>/dev/null || true
	wait "$follower" 2>/dev/null || true
	exits=$(cat "$events")
	echo "$exits" >&2
	[ "$(echo "$exits" | grep -c .)" -ge "$running" ] || fail "saw $(echo "$exits" | grep -c .) of $running containers stop in '$*'"
	nonzero=$(echo "$exits" | awk '$2 != 0')
	[ -z "$nonzero" ] || fail "containers exited non-zero in '$*': $nonzero"
	[ "$(echo "$exits" | tail -n 1 | cut -d' ' -f1)" = postgres ] || fail "postgres did not stop last in '$*'"
}

say "stop: dependents first, every container exits 0"
stops_cleanly stop

say "warm up --detach: the stopped stack started again (load $(load))"
warm=$(timed_up)
echo "warm: time to all ready (up returned) $warm s" >&2
all_healthy
[ "$(orders)" = "$rows" ] || fail "the warehouse lost its rows across stop/up"

say "down: dependents first, every container exits 0"
stops_cleanly down

printf '\ne2e passed. time to all ready (up returned): cold %.0f s, warm %.0f s, recreate %.0f s (load %s, %s cores)\n' \
	"$cold" "$warm" "$recreate" "$(load)" "$(nproc)"
