#!/usr/bin/env bash
# `make run`: services, migrations, demo seed, then the ingester, the API and the watch
# simulator, with a live status line. Ctrl-C stops everything this script started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export BW_RUN_DIR="${BW_RUN_DIR:-.run}"
PY=.venv/bin/python
LOGS="$BW_RUN_DIR/logs"
mkdir -p "$LOGS"
say() { printf '[run] %s\n' "$*" >&2; }

services_were_up=false
if bash deploy/services.sh status 2>&1 | grep -q 'postgresql: up' \
   && bash deploy/services.sh status 2>&1 | grep -q 'mosquitto: up'; then
  services_were_up=true
fi
bash deploy/services.sh start
if [ -f "$BW_RUN_DIR/mqtt-credentials.env" ]; then
  set -a; . "$BW_RUN_DIR/mqtt-credentials.env"; set +a
fi

$PY -m store.migrate
$PY -m sim.seed | tee "$LOGS/seed.log"

pids=()
# start NAME MODULE ARGS...: a background process logging to $LOGS/NAME.log, in a session of its
# own, so that Ctrl-C reaches only this script, which then stops each process with SIGTERM in
# order (a terminal's SIGINT to every process at once raced the script's own loop).
start() {
  local name="$1"; shift
  setsid "$PY" -m "$@" >"$LOGS/$name.log" 2>&1 < /dev/null &
  pids+=("$!")
  say "started $name (pid $!, log $LOGS/$name.log)"
}

stopping=false
stop_all() {
  $stopping && return
  stopping=true
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if ! $services_were_up; then bash deploy/services.sh stop; fi
  say "stopped"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

start ingest ingest
start alerts alerts
start api api
API="http://${BW_API__HOST:-127.0.0.1}:${BW_API__PORT:-8780}"
for _ in $(seq 1 100); do
  if $PY -c "import httpx,sys; sys.exit(httpx.get('$API/readyz').status_code != 200)" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
# The simulator logs in as its own broker client; each watch uses its provisioned credentials.
BW_MQTT__USERNAME="${BW_MQTT__SIM_USERNAME:-${BW_MQTT__USERNAME:-}}" \
BW_MQTT__PASSWORD="${BW_MQTT__SIM_PASSWORD:-${BW_MQTT__PASSWORD:-}}" \
  start sim sim

cat <<BANNER

  bailwatch is running (demo).
  API        $API
  API docs   $API/docs
  Metrics    $API/metrics  (ingester :${BW_INGEST__METRICS_PORT:-9108}/metrics, alerts :${BW_ALERTS__METRICS_PORT:-9109}/metrics)
  Live alerts  $API/alerts/stream  (SSE, with a token)
  Broker     mqtt://127.0.0.1:${BW_MQTT__PORT:-18830}    PostgreSQL 127.0.0.1:${BW_DB__PORT:-55432}
  Logs       $LOGS/

  Demo logins (user / password / role):
$(sed -n '/demo logins/,/cases:/p' "$LOGS/seed.log" | sed '1d;$d')

  Sign in (OAuth2 password flow) and read a track (a stated purpose is required and logged):
    TOKEN=\$(curl -s -d username=police.dyq -d password=demo-police-dyq $API/auth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    curl -H "Authorization: Bearer \$TOKEN" "$API/cases/1/track?from=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)&to=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)&purpose=demo+review&simplify=20"
  Printable compliance report: $API/cases/3/compliance.html?from=...&to=...&purpose=...  (with the token)

  Ctrl-C stops everything.
BANNER

while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "a process exited (pid $pid); see $LOGS"
      exit 1
    fi
  done
  $PY -m sim.demo_status || true
  sleep 10
done
