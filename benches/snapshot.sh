#!/usr/bin/env bash
# Snapshot and restore throughput (issue 13 item 4): `devstack snapshot save` / `restore`
# beside `docker run --rm -v VOL:/v busybox tar c /v | zstd` on the same volume.
#
#   benches/snapshot.sh                          # synthetic, SIZE_MB=1024
#   SIZE_MB=256 benches/snapshot.sh              # quick
#   MODE=pgbench benches/snapshot.sh             # a Postgres data dir, pgbench -i -s 80
#   MODE=pgbench SCALE=100 PG_IMAGE=postgres:18.1 DS=target/release/devstack benches/snapshot.sh
#
# synthetic: the volume holds SIZE_MB of data, half random (incompressible) and half
# repeated text, written by the fixture image (nothing is pulled).
# pgbench: a Postgres service (PG_IMAGE, default postgres:18.1; the stand-in images work)
# on a loopback port; the host's pgbench fills it with `pgbench -i -s SCALE` (scale 80 is
# about 1.2 GB on disk) and the rate is the data dir's size over the time taken. The peer
# runs with the database stopped, as devstack's own copy does (devstack's time includes
# stopping and starting it; its restore also waits for the service to be healthy).
# Prints MB/s for each; removes the project, its volume and its snapshots when done.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${MODE:-synthetic}
SIZE_MB=${SIZE_MB:-1024}
SCALE=${SCALE:-80}
PG_IMAGE=${PG_IMAGE:-postgres:18.1}
DS=${DS:-target/debug/devstack}
DS=$(realpath "$DS")
IMAGE=$(docker images devstack-fixture --format '{{.Repository}}:{{.Tag}}' | head -1)
[ -n "$IMAGE" ] || { echo "no devstack-fixture image: run the tests once (tests/common imports it)" >&2; exit 1; }
WORK=$(mktemp -d)
PROJECT=snapbench-$$
export XDG_DATA_HOME=$WORK/xdg
cleanup() {
  (cd "$WORK" && "$DS" -p "$PROJECT" down --volumes >/dev/null 2>&1) || true
  rm -rf "$WORK"
}
trap cleanup EXIT
CONTAINER=$PROJECT-db-1
if [ "$MODE" = pgbench ]; then
  command -v pgbench >/dev/null || { echo "MODE=pgbench needs pgbench on the host" >&2; exit 1; }
  docker image inspect "$PG_IMAGE" >/dev/null 2>&1 || { echo "no image '$PG_IMAGE' (nothing is pulled): set PG_IMAGE" >&2; exit 1; }
  MOUNT=/pgvol
  cat > "$WORK/compose.yaml" <<YAML
services:
  db:
    image: $PG_IMAGE
    environment:
      POSTGRES_PASSWORD: bench
      PGDATA: /pgvol/data
    ports:
      - "127.0.0.1::5432"
    healthcheck:
      # Over TCP: during init the entrypoint runs a socket-only server, then restarts.
      test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres"]
      interval: 1s
      retries: 60
    volumes:
      - data:/pgvol
volumes:
  data:
YAML
else
  MOUNT=/data
  cat > "$WORK/compose.yaml" <<YAML
services:
  db:
    image: $IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    volumes:
      - data:/data
volumes:
  data:
YAML
fi
cd "$WORK"
"$DS" -p "$PROJECT" up -d >/dev/null 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; exit 1; }
if [ "$MODE" = pgbench ]; then
  PORT=$(docker port "$CONTAINER" 5432/tcp | head -1 | sed 's/.*://')
  t0=$(date +%s)
  PGPASSWORD=bench pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$PORT" -U postgres postgres > "$WORK/pgbench.log" 2>&1 \
    || { cat "$WORK/pgbench.log" >&2; exit 1; }
  PGPASSWORD=bench psql -h 127.0.0.1 -p "$PORT" -U postgres -qAt -c checkpoint postgres >/dev/null
  echo "pgbench -i -s $SCALE: $(( $(date +%s) - t0 )) s"
else
  HALF=$((SIZE_MB / 2))
  docker exec "$CONTAINER" sh -c "head -c ${HALF}m /dev/urandom > /data/random && \
    yes 'id,name,amount,created_at 12345,some customer,99.95,2026-01-01' | head -c ${HALF}m > /data/text.csv"
fi
SIZE_MB=$(docker exec "$CONTAINER" du -sm "$MOUNT" | cut -f1)
echo "volume: $SIZE_MB MB ($MODE), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
VOLUME=${PROJECT}_data
now() { date +%s.%N; }
rate() { awk -v mb="$SIZE_MB" -v s="$1" -v e="$2" 'BEGIN { printf "%.1f MB/s (%.2f s)", mb / (e - s), e - s }'; }

t0=$(now); "$DS" -p "$PROJECT" snapshot save --name bench >/dev/null 2>&1; t1=$(now)
echo "devstack snapshot save:             $(rate "$t0" "$t1")"
docker stop "$CONTAINER" >/dev/null
t0=$(now); docker run --rm --network none -v "$VOLUME:/v" "$IMAGE" tar c -C / v | zstd -3 -q -T1 > "$WORK/peer.tar.zst"; t1=$(now)
echo "docker run tar c | zstd -3:         $(rate "$t0" "$t1")"
docker start "$CONTAINER" >/dev/null
t0=$(now); "$DS" -p "$PROJECT" snapshot restore bench >/dev/null 2>&1; t1=$(now)
echo "devstack snapshot restore:          $(rate "$t0" "$t1")"
docker stop "$CONTAINER" >/dev/null
t0=$(now); zstd -d -q -c "$WORK/peer.tar.zst" | docker run --rm -i --network none -v "$VOLUME:/v" "$IMAGE" tar x -C /; t1=$(now)
echo "zstd -d | docker run tar x:         $(rate "$t0" "$t1")"
echo "snapshot file: $(du -m "$XDG_DATA_HOME"/devstack/snapshots/*/bench/*.zst | cut -f1) MB, peer file: $(du -m "$WORK/peer.tar.zst" | cut -f1) MB"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
