#!/usr/bin/env bash
# Time and peak memory of `devstack config` on the hostile stack files of issue 11
# (items 5 and 6): 50k nested `${X:-…}` and 50k levels of `[`. Both must fail at once
# with a positioned error.
#
# Usage: benches/parse_limits.sh [path/to/devstack]   (default: target/release/devstack)
# Needs GNU time at /usr/bin/time.
set -euo pipefail
bin="${1:-target/release/devstack}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
deep = "${X:-" * 50000 + "x" + "}" * 50000
open(f"{d}/interp.yaml", "w").write(
    "services:\n  web:\n    image: busybox\n    environment:\n      A: \"" + deep + "\"\n")
open(f"{d}/flow.yaml", "w").write(
    "services:\n  web:\n    image: busybox\n    command: " + "[" * 50000 + "\n")
PY
for f in interp flow; do
    out="$(/usr/bin/time -f 'TIME %e s, peak RSS %M KB' "$bin" -f "$dir/$f.yaml" config 2>&1 >/dev/null || true)"
    first="$(printf '%s\n' "$out" | grep -v '^TIME\|^Command\|^$' | head -1 | cut -c1-120)"
    printf '%-7s %s | %s\n' "$f:" "$(printf '%s\n' "$out" | grep '^TIME' | cut -c6-)" "${first#"$dir"/}"
done
