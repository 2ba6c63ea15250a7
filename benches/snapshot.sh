#!/usr/bin/env bash
# Snapshot and restore throughput (issue 13 item 4): `devstack snapshot save` / `restore`
# beside `docker run --rm -v VOL:/v busybox tar c /v | zstd` on the same volume.
#
#   benches/snapshot.sh                 # SIZE_MB=1024
#   SIZE_MB=256 benches/snapshot.sh     # quick
#   DS=target/release/devstack benches/snapshot.sh
#
# The volume holds SIZE_MB of data, half random (incompressible) and half repeated text,
# written by the fixture image (nothing is pulled). Prints MB/s of tar bytes for each.
# Removes the project, its volume and its snapshots when done. Not the pgbench data dir
# the issue names: the stand-in Postgres image has no pgbench here.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-1024}
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
cd "$WORK"
"$DS" -p "$PROJECT" up -d >/dev/null
HALF=$((SIZE_MB / 2))
docker exec "$PROJECT-db-1" sh -c "head -c ${HALF}m /dev/urandom > /data/random && \
  yes 'id,name,amount,created_at 12345,some customer,99.95,2026-01-01' | head -c ${HALF}m > /data/text.csv"
VOLUME=${PROJECT}_data
now() { date +%s.%N; }
rate() { awk -v mb="$SIZE_MB" -v s="$1" -v e="$2" 'BEGIN { printf "%.1f MB/s (%.2f s)", mb / (e - s), e - s }'; }

t0=$(now); "$DS" -p "$PROJECT" snapshot save --name bench >/dev/null 2>&1; t1=$(now)
echo "devstack snapshot save:             $(rate "$t0" "$t1")"
t0=$(now); docker run --rm --network none -v "$VOLUME:/v" "$IMAGE" tar c /v | zstd -3 -q -T1 > "$WORK/peer.tar.zst"; t1=$(now)
echo "docker run tar c | zstd -3:         $(rate "$t0" "$t1")"
t0=$(now); "$DS" -p "$PROJECT" snapshot restore bench >/dev/null 2>&1; t1=$(now)
echo "devstack snapshot restore:          $(rate "$t0" "$t1")"
t0=$(now); zstd -d -q -c "$WORK/peer.tar.zst" | docker run --rm -i --network none -v "$VOLUME:/v" "$IMAGE" tar x -C /; t1=$(now)
echo "zstd -d | docker run tar x:         $(rate "$t0" "$t1")"
echo "snapshot file: $(du -m "$XDG_DATA_HOME"/devstack/snapshots/*/bench/*.zst | cut -f1) MB, peer file: $(du -m "$WORK/peer.tar.zst" | cut -f1) MB"
