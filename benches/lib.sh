# Shared by benches/compare.sh and benches/tui.sh (sourced, not run): the daemon's API
# through curl, clocks, /proc sampling and the fixture image. Expects SOCK, IMAGE and
# WORK to be set by the script that sources it.

api() { curl -fsS --unix-socket "$SOCK" "$@"; }
now_ns() { date +%s%N; }
log() { printf '== %s\n' "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

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
  python3 -c "print(f'{($c1 - $c0) / $tck / (($t1 - $t0) / 1e9) * 100:.2f} % CPU, {$max / 1024:.1f} MB RSS')"
}

# The fixture image, imported through the API from the host's static busybox (nothing
# is pulled).
import_image() {
  api "http://localhost/images/$IMAGE/json" >/dev/null 2>&1 && return 0
  log "importing $IMAGE from /bin/busybox"
  local root=$WORK/rootfs applet
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  echo ok >"$root/www/index.html"
  tar -C "$root" -cf - . | api -X POST -H 'Content-Type: application/x-tar' --data-binary @- \
    "http://localhost/images/create?fromSrc=-&repo=${IMAGE%%:*}&tag=${IMAGE#*:}&changes=ENV%20PATH%3D%2Fbin" >/dev/null
}

# Removes every container, the default network and the named volumes of project $1.
remove_project() {
  local p=$1 ids id v
  ids=$(api "http://localhost/containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3D$p%22%5D%7D" 2>/dev/null \
    | python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))' 2>/dev/null || true)
  for id in $ids; do api -X DELETE "http://localhost/containers/$id?force=1&v=1" >/dev/null 2>&1 || true; done
  api -X DELETE "http://localhost/networks/${p}_default" >/dev/null 2>&1 || true
  for v in data logs; do api -X DELETE "http://localhost/volumes/${p}_$v" >/dev/null 2>&1 || true; done
}
