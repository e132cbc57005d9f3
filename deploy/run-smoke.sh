#!/usr/bin/env bash
# A smoke check of the README's first command: `make run` on this machine until the demo has
# stored fixes from its watches and the API answers, then Ctrl-C (SIGINT), as a user would stop
# it; fails if it does not get there within BW_SMOKE_TIMEOUT_S (default 300 s, set-up included)
# or does not stop cleanly. Used by deploy/fresh-machine.sh (CI); usable by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[smoke] %s\n' "$*" >&2; }
LIMIT="${BW_SMOKE_TIMEOUT_S:-300}"
OUT="$(mktemp)"

# In its own session and process group, with SIGINT at its default as in a terminal (a script's
# background job starts with SIGINT ignored, and a shell cannot trap a signal ignored at entry),
# so that the Ctrl-C below reaches `make run` as a user's would: the whole foreground group.
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp("make", ["make", "run"])' >"$OUT" 2>&1 &
pid=$!
ok=false
for _ in $(seq 1 "$LIMIT"); do
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if grep -qE '^\[demo\] fixes stored today: [1-9][0-9]* from [1-9]' "$OUT" \
     && grep -q 'bailwatch is running' "$OUT"; then
    ok=true
    break
  fi
  sleep 1
done
kill -INT -- "-$pid" 2>/dev/null || true
for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
stopped=true
if kill -0 "$pid" 2>/dev/null; then stopped=false; kill -KILL -- "-$pid" 2>/dev/null || true; fi
tail -n 25 "$OUT" >&2
if ! $ok; then say "make run did not store demo fixes within ${LIMIT} s"; exit 1; fi
if ! $stopped || ! grep -q '^\[run\] stopped' "$OUT"; then say "make run did not stop cleanly"; exit 1; fi
say "make run stored demo fixes and stopped cleanly"
rm -f "$OUT"
