#!/bin/sh
# Checks the configuration, then runs the loader (arguments are passed on to it).
set -eu

if [ -z "${WAREHOUSE_DSN:-}" ]; then
	missing=""
	for var in WAREHOUSE_HOST WAREHOUSE_PORT WAREHOUSE_DB WAREHOUSE_USER WAREHOUSE_PASSWORD; do
		eval "value=\${$var:-}"
		[ -n "$value" ] || missing="$missing $var"
	done
	if [ -n "$missing" ]; then
		echo "pipeline: missing configuration:$missing" >&2
		echo "  Set them in .env next to devstack.yaml (\`devstack init\` writes one; .env.example lists" >&2
		echo "  every variable), or set WAREHOUSE_DSN to a full connection string instead." >&2
		exit 78 # EX_CONFIG
	fi
fi

exec python -m src.load "$@"
