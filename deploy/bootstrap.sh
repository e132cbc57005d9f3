#!/usr/bin/env bash
# Create .venv with the pinned dependencies (idempotent: reinstalls only when a requirements
# file changed). Needs Python >= 3.11; on Debian installs python3-venv from apt if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

say() { printf '[bootstrap] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Python >= 3.11 is required (found: $("$PYTHON" --version 2>&1 || echo none))"
  exit 1
fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  say "installing python3-venv from apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

STAMP=.venv/.requirements.sha256
WANT="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-64)"
if [ -x .venv/bin/python ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || { say "creating .venv"; "$PYTHON" -m venv .venv; }
say "installing pinned dependencies into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
printf '%s\n' "$WANT" > "$STAMP"
