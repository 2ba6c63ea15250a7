#!/usr/bin/env bash
# The heavier end-to-end checks that `.ci/run` runs after `cargo test`: they need the
# stand-in images for postgres, python and apache/airflow 3, which
# ../shared/images/build.sh builds offline (about 6 minutes cold on 2 cores; seconds when
# they exist). Nothing is pulled.
#
#   tests/e2e/bundled.sh   the bundled Postgres + Airflow 3 + pipeline stack, end to end
#   tests/airflow.rs       devstack's Airflow view and CLI against a real Airflow 3 (not
#                          part of plain `cargo test`: `test = false` in Cargo.toml)
set -euo pipefail
cd "$(dirname "$0")/../.."

E2E_BUILD_IMAGES=1 bash tests/e2e/bundled.sh
cargo test --locked --test airflow
echo "e2e: 2 passed, 0 failed"
