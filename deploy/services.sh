#!/usr/bin/env bash
# Project-local PostgreSQL and Mosquitto on loopback, for the demo (`make run`), the tests
# (`make test`, with throwaway copies) and the benchmarks (`make bench`).
#
#   deploy/services.sh install   # apt-get install postgresql and mosquitto if missing
#   deploy/services.sh start     # install if needed, initdb if needed, start both (idempotent)
#   deploy/services.sh stop      # stop what this run dir started
#   deploy/services.sh status
#   deploy/services.sh wipe      # stop, then delete the run dir's data (throwaway test services)
#
# Everything lives under $BW_RUN_DIR (default .run/): pg/ (cluster), mosquitto/ (config and
# persistence), backup/ (WAL archive and base backups, see deploy/backup.sh), logs/. Ports and
# credentials come from the same settings the Python code reads: BW_DB__PORT (55432),
# BW_DB__USER, BW_DB__PASSWORD, BW_DB__NAME, BW_MQTT__PORT (18830).
# Mosquitto runs with dynamic security and no anonymous access; the generated admin, ingester and
# simulator credentials are in $BW_RUN_DIR/mqtt-credentials.env (mode 600).
# As root, PostgreSQL runs as the `postgres` user (runuser) and Mosquitto as `mosquitto`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${BW_RUN_DIR:-.run}"
case "$RUN_DIR" in /*) ;; *) RUN_DIR="$ROOT/$RUN_DIR" ;; esac
PG_PORT="${BW_DB__PORT:-55432}"
PG_USER="${BW_DB__USER:-bailwatch}"
PG_PASSWORD="${BW_DB__PASSWORD:-bailwatch}"
PG_DB="${BW_DB__NAME:-bailwatch}"
MQTT_PORT="${BW_MQTT__PORT:-18830}"
LOG_DIR="$RUN_DIR/logs"

TAG=services
# shellcheck source=deploy/lib.sh
. "$ROOT/deploy/lib.sh"


# dynsec_plugin: the dynamic-security plugin of Debian's mosquitto package (under the machine's
# multiarch directory), or BW_MQTT__DYNSEC_PLUGIN. Looked up when needed, after the install step.
dynsec_plugin() {
  if [ -n "${BW_MQTT__DYNSEC_PLUGIN:-}" ]; then printf '%s\n' "$BW_MQTT__DYNSEC_PLUGIN"; return 0; fi
  ls /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so \
    2>/dev/null | head -n 1
}

install_packages() {
  local need=()
  [ -n "$(pg_bindir || true)" ] || need+=(postgresql postgresql-contrib)
  if ! command -v mosquitto >/dev/null 2>&1 || ! command -v mosquitto_ctrl >/dev/null 2>&1 \
     || [ -z "$(dynsec_plugin)" ]; then
    need+=(mosquitto)
  fi
  command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
  [ -e /usr/share/zoneinfo/Asia/Shanghai ] || need+=(tzdata)
  need_packages "${need[@]}"
  # Debian's package starts its own cluster/broker on the default ports; ours use other ports,
  # so they do not collide and we leave the system ones alone.
  [ -n "$(pg_bindir || true)" ] || { say "no PostgreSQL server binaries (initdb) after the install"; return 1; }
  [ -n "$(dynsec_plugin)" ] || { say "no mosquitto_dynamic_security.so after the install"; return 1; }
}


# service_dir NAME USER: a data directory under the run dir owned by USER. When USER cannot
# reach the project directory (e.g. a checkout under /root), the data lives in /var/tmp and the
# run dir holds a symlink to it.
service_dir() {
  local name="$1" user="$2" dir="$RUN_DIR/$1"
  if is_root && [ ! -e "$dir" ]; then
    mkdir -p "$RUN_DIR"
    if ! runuser -u "$user" -- test -x "$RUN_DIR"; then
      local alt
      alt="/var/tmp/bailwatch-$(printf '%s' "$RUN_DIR" | sha1sum | cut -c1-12)/$name"
      mkdir -p "$alt"
      ln -s "$alt" "$dir"
      say "$user cannot reach $RUN_DIR; $name data is in $alt"
    fi
  fi
  mkdir -p "$dir/"
  if is_root; then chown -R "$user:" "$dir/"; fi
  # The real path: the service user may not be able to walk through the run dir to the link.
  readlink -f "$dir"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# refuse_taken PORT WHAT VAR: stop with a plain message when something else already listens on
# PORT (another checkout's services, say), instead of the server's own start-up failure.
refuse_taken() {
  if port_open "$1"; then
    say "port $1 is already in use, so $2 cannot start: stop what holds it (\`make stop\` in"
    say "another bailwatch checkout) or choose another port with $3"
    exit 1
  fi
}

wait_port() {
  local port="$1" what="$2" i
  for i in $(seq 1 100); do
    if port_open "$port"; then return 0; fi
    sleep 0.1
  done
  say "$what did not open port $port; see $LOG_DIR"
  return 1
}

start_postgres() {
  local bin data pwfile
  bin="$(pg_bindir)"
  data="$(service_dir pg postgres)/data"
  if [ ! -s "$data/PG_VERSION" ]; then
    say "initdb $data (port $PG_PORT)"
    run_as postgres mkdir -p "$data"
    pwfile="$(dirname "$data")/pwfile"
    printf '%s\n' "$PG_PASSWORD" > "$pwfile"
    if is_root; then chown postgres: "$pwfile"; fi
    run_as postgres "$bin/initdb" -D "$data" -U "$PG_USER" --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    cat >> "$data/postgresql.conf" <<EOF
# bailwatch: loopback only, project port, no unix socket (path-length safe)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 512MB
synchronous_commit = on
timezone = 'UTC'
log_timezone = 'UTC'
EOF
  fi
  archive_conf "$data"
  if run_as postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "postgresql already running on $PG_PORT"
  else
    local log="$(dirname "$data")/postgresql.log"
    refuse_taken "$PG_PORT" postgresql BW_DB__PORT
    run_as postgres "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
    say "postgresql started on 127.0.0.1:$PG_PORT (log $log)"
  fi
  wait_port "$PG_PORT" postgresql
  ensure_database
}

# archive_conf DATA: continuous WAL archiving into $RUN_DIR/backup/wal (deploy/backup.sh takes the
# base backups and restores). Written at every start, so clusters made before it get it too (a
# running one on its next restart). The command never overwrites an archived segment: an
# identical copy (archived twice after a crash) is success, a different one fails loudly in the
# server log, and PostgreSQL keeps that segment and retries until someone looks.
# BW_PG_ARCHIVE=on|off; unset, a cluster keeps what it had, and a new one (or one from before
# archiving) gets off for the throwaway test clusters (BW_ENVIRONMENT=test), whose copied test
# databases would only fill the disk, and on everywhere else.
archive_conf() {
  local data="$1" wal archive="${BW_PG_ARCHIVE:-}"
  if [ -z "$archive" ] && [ -f "$data/bailwatch-archive.conf" ]; then
    if grep -q '^archive_mode = on' "$data/bailwatch-archive.conf"; then archive=on; else archive=off; fi
  fi
  if [ -z "$archive" ]; then
    if [ "${BW_ENVIRONMENT:-}" = test ]; then archive=off; else archive=on; fi
  fi
  if [ "$archive" = on ]; then
    wal="$(service_dir backup postgres)/wal"
    run_as postgres mkdir -p "$wal"
    cat > "$data/bailwatch-archive.conf" <<EOF
# Generated by deploy/services.sh; edit that script, not this file.
wal_level = replica
archive_mode = on
archive_timeout = 60
archive_command = 'f="$wal/%f"; if [ -e "\$f" ]; then cmp -s "%p" "\$f" || { echo "archive_command: \$f exists with other contents; not overwriting" >&2; exit 1; }; else cp "%p" "\$f.part" && sync "\$f.part" && mv "\$f.part" "\$f"; fi'
EOF
  else
    printf '# Generated by deploy/services.sh (BW_PG_ARCHIVE=off).\narchive_mode = off\n' \
      > "$data/bailwatch-archive.conf"
  fi
  if is_root; then chown postgres: "$data/bailwatch-archive.conf"; fi
  grep -q "^include_if_exists = 'bailwatch-archive.conf'" "$data/postgresql.conf" \
    || printf "include_if_exists = 'bailwatch-archive.conf'\n" >> "$data/postgresql.conf"
}

ensure_database() {
  local py="$ROOT/.venv/bin/python"
  [ -x "$py" ] || return 0
  "$py" - <<EOF
import psycopg
dsn = "postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres"
with psycopg.connect(dsn, autocommit=True) as conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", ["$PG_DB"]).fetchone() is None:
        conn.execute('CREATE DATABASE "$PG_DB"')
EOF
}

mosquitto_conf() {
  local dir="$1"
  # Device credentials and ACLs live in Mosquitto's dynamic-security plugin (dynamic-security.json,
  # administered at runtime over $CONTROL/dynamic-security/v1 by broker/dynsec.py); no anonymous access.
  cat <<EOF
# Generated by deploy/services.sh; edit that script, not this file.
per_listener_settings false
listener $MQTT_PORT 127.0.0.1
protocol mqtt
allow_anonymous false
plugin $(dynsec_plugin)
plugin_opt_config_file $dir/dynamic-security.json
persistence true
persistence_location $dir/data/
autosave_interval 10
pid_file $dir/mosquitto.pid
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
connection_messages true
# Backpressure: the ingester acknowledges after commit and caps its in-flight window with
# Receive Maximum; the broker queues the rest instead of dropping it.
max_inflight_messages 0
max_queued_messages 10000000
max_queued_bytes 0
max_packet_size 1048576
persistent_client_expiration 14d
EOF
}

# Generated broker credentials of this run dir (admin, ingester, simulator, alerts), mode 600,
# as BW_* lines a process can source: `set -a; . "$BW_RUN_DIR/mqtt-credentials.env"; set +a`.
CRED_FILE="$RUN_DIR/mqtt-credentials.env"

new_secret() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }

# dynsec_init DIR: a new dynamic-security.json with the admin client, and the credentials file.
dynsec_init() {
  local dir="$1" admin_pw
  rm -f "$dir/dynamic-security.json" "$dir"/dynsec.roles.*
  admin_pw="$(new_secret)"
  mosquitto_ctrl dynsec init "$dir/dynamic-security.json" bw-admin "$admin_pw" >/dev/null
  ( umask 077
    cat > "$CRED_FILE" <<EOF
BW_MQTT__ADMIN_USERNAME=bw-admin
BW_MQTT__ADMIN_PASSWORD=$admin_pw
BW_MQTT__USERNAME=bw-ingest
BW_MQTT__PASSWORD=$(new_secret)
BW_MQTT__SIM_USERNAME=bw-sim
BW_MQTT__SIM_PASSWORD=$(new_secret)
BW_ALERTS__MQTT_USERNAME=bw-alerts
BW_ALERTS__MQTT_PASSWORD=$(new_secret)
EOF
  )
  say "dynamic security initialised; broker credentials in $CRED_FILE"
}

# dynsec_roles DIR: roles and service clients (deploy/mosquitto/dynsec-roles.sh), re-applied
# whenever that script changes.
dynsec_roles() {
  local dir="$1" script="$ROOT/deploy/mosquitto/dynsec-roles.sh" marker
  marker="$dir/dynsec.roles.$(sha1sum < "$script" | cut -c1-12)"
  [ -e "$marker" ] && return 0
  if ! grep -q '^BW_ALERTS__MQTT_PASSWORD=' "$CRED_FILE"; then  # run dirs from before alerts
    ( umask 077; printf 'BW_ALERTS__MQTT_USERNAME=bw-alerts\nBW_ALERTS__MQTT_PASSWORD=%s\n' \
        "$(new_secret)" >> "$CRED_FILE" )
  fi
  local BW_MQTT__ADMIN_USERNAME BW_MQTT__ADMIN_PASSWORD BW_MQTT__PASSWORD BW_MQTT__SIM_PASSWORD
  local BW_ALERTS__MQTT_PASSWORD
  # shellcheck disable=SC1090
  . "$CRED_FILE"
  MQTT_HOST=127.0.0.1 MQTT_PORT="$MQTT_PORT" ADMIN_USER="$BW_MQTT__ADMIN_USERNAME" \
    ADMIN_PASSWORD="$BW_MQTT__ADMIN_PASSWORD" INGEST_PASSWORD="$BW_MQTT__PASSWORD" \
    ALERTS_PASSWORD="$BW_ALERTS__MQTT_PASSWORD" SIM_PASSWORD="$BW_MQTT__SIM_PASSWORD" \
    DYNSEC_LOG="$LOG_DIR/dynsec.log" sh "$script" >/dev/null \
    || { say "dynsec roles: $script failed; see $LOG_DIR/dynsec.log"; return 1; }
  rm -f "$dir"/dynsec.roles.*
  touch "$marker"
  say "dynsec roles and clients bw-ingest, bw-alerts, bw-sim in place"
}

start_mosquitto() {
  local dir pid
  dir="$(service_dir mosquitto mosquitto)"
  mkdir -p "$dir/data"
  if [ ! -s "$dir/dynamic-security.json" ] || [ ! -s "$CRED_FILE" ]; then dynsec_init "$dir"; fi
  mosquitto_conf "$dir" > "$dir/mosquitto.conf"
  if is_root; then chown -R mosquitto: "$dir"; fi
  pid="$(cat "$dir/mosquitto.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    say "mosquitto already running on $MQTT_PORT"
  else
    rm -f "$dir/mosquitto.pid"
    refuse_taken "$MQTT_PORT" mosquitto BW_MQTT__PORT
    if is_root; then
      runuser -u mosquitto -- mosquitto -d -c "$dir/mosquitto.conf"
    else
      mosquitto -d -c "$dir/mosquitto.conf"
    fi
    wait_port "$MQTT_PORT" mosquitto
    say "mosquitto started on 127.0.0.1:$MQTT_PORT (log $dir/mosquitto.log)"
  fi
  dynsec_roles "$dir"
}

stop_postgres() {
  local bin data
  data="$(readlink -f "$RUN_DIR/pg" 2>/dev/null || true)/data"
  bin="$(pg_bindir || true)"
  [ -n "$bin" ] && [ -s "$data/PG_VERSION" ] || return 0
  if run_as postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    run_as postgres "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    say "postgresql stopped"
  fi
}

stop_mosquitto() {
  local pidfile="$RUN_DIR/mosquitto/mosquitto.pid" pid i
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "mosquitto stopped"
  fi
}

status() {
  if port_open "$PG_PORT"; then say "postgresql: up on $PG_PORT"; else say "postgresql: down"; fi
  if port_open "$MQTT_PORT"; then say "mosquitto: up on $MQTT_PORT"; else say "mosquitto: down"; fi
}

wipe() {
  stop_mosquitto
  stop_postgres
  local target
  for sub in pg mosquitto backup; do
    if [ -L "$RUN_DIR/$sub" ]; then
      target="$(readlink -f "$RUN_DIR/$sub")"
      rm -rf "$target"
      rmdir "$(dirname "$target")" 2>/dev/null || true  # the /var/tmp parent, once empty
    fi
  done
  rm -rf "$RUN_DIR"
  say "wiped $RUN_DIR"
}

mkdir -p "$LOG_DIR"
case "${1:-start}" in
  install) install_packages ;;
  start) install_packages; start_postgres; start_mosquitto ;;
  start-postgres) install_packages; start_postgres ;;
  start-mosquitto) install_packages; start_mosquitto ;;
  stop) stop_mosquitto; stop_postgres ;;
  stop-postgres) stop_postgres ;;
  stop-mosquitto) stop_mosquitto ;;
  status) status ;;
  wipe) wipe ;;
  *) say "usage: $0 install|start|stop|status|wipe"; exit 2 ;;
esac
