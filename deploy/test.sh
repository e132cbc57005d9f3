#!/usr/bin/env bash
# `make test`: throwaway PostgreSQL and Mosquitto under .run/test on their own ports, lint and
# type checks, then the whole test suite. The services are wiped at the end, pass or fail.
# Extra arguments go to pytest (e.g. `make test ARGS="-k ingest"`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export BW_ENVIRONMENT=test
export BW_RUN_DIR="${BW_TEST_RUN_DIR:-.run/test}"
export BW_DB__PORT="${BW_TEST_DB_PORT:-55433}"
export BW_MQTT__PORT="${BW_TEST_MQTT_PORT:-18833}"
export BW_API__PORT="${BW_TEST_API_PORT:-8781}"

TAG=test
# shellcheck source=deploy/lib.sh
. deploy/lib.sh

# Node.js runs PGlite+TimescaleDB and the SMPP test server; poppler-utils (pdftotext, pdftoppm)
# opens the printable report's PDF in the tests.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  need_packages nodejs npm
fi
need_packages poppler-utils
# The browser tests drive Debian's Chromium through Playwright (never a downloaded browser);
# Playwright's own Node.js driver needs libatomic1 (not in a minimal Debian 12).
need_packages chromium libatomic1

bash deploy/services.sh wipe >/dev/null 2>&1 || true
trap 'bash deploy/services.sh wipe >/dev/null 2>&1 || true' EXIT
bash deploy/services.sh start
if [ -f "$BW_RUN_DIR/mqtt-credentials.env" ]; then
  set -a; . "$BW_RUN_DIR/mqtt-credentials.env"; set +a
fi

say "lint: ruff check, ruff format --check, mypy"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy .

say "pytest"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
