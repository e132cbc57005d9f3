#!/usr/bin/env bash
# Create .venv with the pinned dependencies (idempotent: reinstalls only when a requirements
# file changed). Needs Python >= 3.11; on Debian installs python3-venv from apt if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
TAG=bootstrap
# shellcheck source=deploy/lib.sh
. deploy/lib.sh

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  say "no $PYTHON on this machine: bailwatch needs Python 3.11 or newer"
  say "(Debian 12: apt-get install python3; elsewhere install Python >= 3.11 and run PYTHON=/path/to/python3 make ...)"
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Python 3.11 or newer is required; $PYTHON is $("$PYTHON" --version 2>&1)"
  say "(install a newer Python and run e.g. PYTHON=/usr/bin/python3.11 make ...)"
  exit 1
fi
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  need_packages python3-venv
  if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    say "$PYTHON still has no venv/ensurepip after installing python3-venv (not Debian's python3?);"
    say "install the venv module for that Python, or run with PYTHON=/usr/bin/python3"
    exit 1
  fi
fi

# The printable report's PDF (WeasyPrint): Pango for layout, HarfBuzz's subsetter to embed only
# the glyphs used, and a CJK font so Chinese prints as text, not empty boxes.
need_packages libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk

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
