#!/bin/sh
# bailwatch's roles and service clients in Mosquitto's dynamic security. Idempotent: safe to run
# on every start. Used by deploy/services.sh (local run, tests) and by docker-compose's mqtt-init.
#
# Environment: MQTT_HOST, MQTT_PORT, ADMIN_USER, ADMIN_PASSWORD (the dynsec admin created by
# `mosquitto_ctrl dynsec init`), INGEST_PASSWORD, ALERTS_PASSWORD, and SIM_PASSWORD (optional:
# the simulator's client is created only when it is set, i.e. not in production); DYNSEC_LOG
# (optional) receives mosquitto_ctrl's messages, e.g. "role already exists" on a re-run.
#
# Devices are not created here: each is provisioned with its own client and its own role
# `device:{id}` by broker/provision.py (Mosquitto 2.0's dynsec has no %u/%c ACL substitution).
set -eu

ctl() {
  mosquitto_ctrl -h "$MQTT_HOST" -p "$MQTT_PORT" -u "$ADMIN_USER" -P "$ADMIN_PASSWORD" \
    dynsec "$@" >/dev/null 2>>"${DYNSEC_LOG:-/dev/null}"
}

# role NAME [ACLTYPE TOPIC allow|deny]...: the role, with these ACLs (existing ones are kept).
role() {
  name="$1"; shift
  ctl createRole "$name" || true
  while [ "$#" -ge 3 ]; do
    ctl addRoleACL "$name" "$1" "$2" "$3" || true
    shift 3
  done
}

# client USER PASSWORD ROLE: the client with this password and role.
client() {
  ctl createClient "$1" -p "$2" || ctl setClientPassword "$1" "$2"
  ctl addClientRole "$1" "$3" || true
}

ctl createGroup devices || true

# The ingester reads every device's uplink through shared subscriptions and publishes nothing.
role ingester \
  subscribePattern 'bw/v1/dev/#' allow \
  subscribePattern 'owntracks/#' allow \
  subscribePattern '$share/+/bw/v1/dev/#' allow \
  subscribePattern '$share/+/owntracks/#' allow \
  publishClientReceive 'bw/v1/dev/#' allow \
  publishClientReceive 'owntracks/#' allow
client bw-ingest "$INGEST_PASSWORD" ingester

# The alerts service publishes unit topics (bw/v1/unit/{code}/alerts and the retained summary)
# and watch commands (bw/v1/dev/{id}/cmd); dispatch consoles may read the unit topics with it.
role alerts \
  publishClientSend 'bw/v1/unit/#' allow \
  publishClientSend 'bw/v1/dev/+/cmd' allow \
  subscribePattern 'bw/v1/unit/#' allow \
  publishClientReceive 'bw/v1/unit/#' allow
client bw-alerts "$ALERTS_PASSWORD" alerts

# The simulator (demo, benchmarks) speaks for many watches and reads their commands.
if [ -n "${SIM_PASSWORD:-}" ]; then
  role simulator \
    publishClientSend 'bw/v1/dev/#' allow \
    publishClientSend 'owntracks/#' allow \
    subscribePattern 'bw/v1/dev/+/cmd' allow \
    publishClientReceive 'bw/v1/dev/+/cmd' allow
  client bw-sim "$SIM_PASSWORD" simulator
fi
echo "dynsec roles ingester, alerts${SIM_PASSWORD:+, simulator} and their clients are in place"
