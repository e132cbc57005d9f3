#!/usr/bin/env bash
# `make bench`: every benchmark module under bench/, against the services `make services` runs.
# A benchmark is a module of bench/ with an entry point; each makes its own throwaway database
# (some also their own services); figures go to stdout and .run/bench/.
# `make bench ARGS="geofence ingest"` runs only those.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export BW_RUN_DIR="${BW_RUN_DIR:-.run}"
if [ -f "$BW_RUN_DIR/mqtt-credentials.env" ]; then
  set -a; . "$BW_RUN_DIR/mqtt-credentials.env"; set +a
fi
mkdir -p "$BW_RUN_DIR/bench"
status=0
for file in bench/*.py; do
  name="$(basename "$file" .py)"
  case "$name" in __init__|_*) continue ;; esac
  # Helper modules of the benchmarks (publishers, counters) have no entry point.
  grep -q '^if __name__ == "__main__":' "$file" || continue
  if [ "$#" -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  printf '\n== bench.%s ==\n' "$name"
  if ! .venv/bin/python -m "bench.$name" | tee "$BW_RUN_DIR/bench/$name.out"; then
    status=1
  fi
done
exit $status
