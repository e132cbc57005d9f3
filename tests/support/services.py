"""Helpers for integration tests: throwaway databases, MQTT clients and sessions, processes.

The real PostgreSQL and Mosquitto are started by the test command (``make test``); these helpers
only create isolated databases (from a migrated template) and MQTT identities inside them.

Broker credentials: Mosquitto runs without anonymous access. When ``BW_MQTT__USERNAME`` etc. are
not exported, :func:`with_broker_credentials` reads the ones ``deploy/services.sh`` generated into
``$BW_RUN_DIR/mqtt-credentials.env``: the ingester (``settings.mqtt.username``), the simulator
(``mqtt.sim_username``, may publish for any device: the default of :func:`mqtt_client`) and the
dynsec admin (``mqtt.admin_username``, for :func:`provision_test_device`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broker.dynsec import DeviceCredentials
from broker.provision import admin_for, provision_device
from config.settings import Settings
from store.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DB = "bw_test_template"


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_services(settings: Settings) -> None:
    """Fail (not skip) with a clear message when the test services are not running."""
    missing = []
    if not port_open(settings.db.host, settings.db.port):
        missing.append(f"PostgreSQL on {settings.db.host}:{settings.db.port}")
    if not port_open(settings.mqtt.host, settings.mqtt.port):
        missing.append(f"Mosquitto on {settings.mqtt.host}:{settings.mqtt.port}")
    if missing:
        raise RuntimeError(
            "integration tests need " + " and ".join(missing) + "; run them with `make test`"
        )


def admin_dsn(settings: Settings) -> str:
    return settings.db.dsn(database="postgres")


def build_template(settings: Settings) -> None:
    """(Re)create the migrated template database every test database is copied from."""
    with psycopg.connect(admin_dsn(settings), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    migrate(settings.db.dsn(database=TEMPLATE_DB), settings.pings, prefer="native")


@contextmanager
def fresh_database(settings: Settings) -> Iterator[Settings]:
    """A new database copied from the template; yields settings pointing at it, then drops it."""
    name = f"bw_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn(settings), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    try:
        yield settings.model_copy(update={"db": settings.db.model_copy(update={"name": name})})
    finally:
        with psycopg.connect(admin_dsn(settings), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def credentials_file(settings: Settings) -> Path:
    """The broker credentials deploy/services.sh generated for this run dir."""
    run_dir = Path(settings.run_dir)
    return (run_dir if run_dir.is_absolute() else ROOT / run_dir) / "mqtt-credentials.env"


def with_broker_credentials(settings: Settings) -> Settings:
    """Settings with the run dir's broker credentials filled in where the environment has none."""
    path = credentials_file(settings)
    if not path.exists():
        return settings
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    prefix = "BW_MQTT__"
    update = {
        key[len(prefix) :].lower(): value
        for key, value in values.items()
        if key.startswith(prefix) and getattr(settings.mqtt, key[len(prefix) :].lower()) is None
    }
    if not update:
        return settings
    mqtt_settings = settings.mqtt.model_validate({**settings.mqtt.model_dump(), **update})
    return settings.model_copy(update={"mqtt": mqtt_settings})


def isolated_mqtt(settings: Settings) -> Settings:
    """Settings with a unique ingester client id and shared-subscription group for one test
    (and the run dir's broker credentials, see :func:`with_broker_credentials`)."""
    settings = with_broker_credentials(settings)
    tag = uuid.uuid4().hex[:10]
    return settings.model_copy(
        update={
            "mqtt": settings.mqtt.model_copy(update={"shared_group": f"t{tag}"}),
            "ingest": settings.ingest.model_copy(
                update={"client_id": f"bw-test-{tag}", "metrics_port": 0}
            ),
        }
    )


def mqtt_client(settings: Settings, *, client_id: str | None = None, **creds: str) -> mqtt.Client:
    """A connected MQTT v5 client (network loop running in its own thread).

    Connects as ``username``/``password`` when given, else as the simulator (which may publish
    for any device), else as ``settings.mqtt.username``. Raises if the broker refuses.
    """
    settings = with_broker_credentials(settings)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"test-{uuid.uuid4().hex[:10]}",
        protocol=mqtt.MQTTv5,
    )
    m = settings.mqtt
    username: str | None
    password: str | None
    if creds.get("username"):
        username, password = creds["username"], creds.get("password")
    elif m.sim_username:
        username = m.sim_username
        password = m.sim_password.get_secret_value() if m.sim_password else None
    else:
        username = m.username
        password = m.password.get_secret_value() if m.password else None
    if username:
        client.username_pw_set(username, password)
    connected = threading.Event()
    refused: list[str] = []

    def on_connect(c: mqtt.Client, u: object, f: object, rc: ReasonCode, p: object) -> None:
        if rc.is_failure:
            refused.append(str(rc))
        connected.set()

    client.on_connect = on_connect
    client.connect(settings.mqtt.host, settings.mqtt.port, keepalive=30)
    client.loop_start()
    if not connected.wait(10) or refused:
        client.loop_stop()
        raise RuntimeError(f"MQTT client did not connect as {username}: {refused}")
    return client


def publish_all(client: mqtt.Client, messages: list[tuple[str, bytes]], *, qos: int = 1) -> None:
    """Publish and wait until the broker acknowledged every message."""
    infos = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            raise RuntimeError("publish not acknowledged by the broker")


def drop_mqtt_session(settings: Settings, client_id: str) -> None:
    """Remove a persistent session (and its queued messages) left by a test's ingester."""
    settings = with_broker_credentials(settings)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if settings.mqtt.username:
        pw = settings.mqtt.password.get_secret_value() if settings.mqtt.password else None
        client.username_pw_set(settings.mqtt.username, pw)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    client.connect(settings.mqtt.host, settings.mqtt.port, clean_start=True, properties=props)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms until it holds; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


#: Log file of each process started by :func:`service_process`, by pid.
LOG_PATHS: dict[int, Path] = {}


def process_log(proc: subprocess.Popen[bytes]) -> str:
    """What a process started by :func:`service_process` has logged so far."""
    return LOG_PATHS[proc.pid].read_text(errors="replace")


def wait_for_log(proc: subprocess.Popen[bytes], text: str, *, timeout_s: float = 20) -> None:
    """Wait until the process logged ``text`` (fails early if it exited)."""

    def seen() -> bool:
        if proc.poll() is not None and text not in process_log(proc):
            raise AssertionError(f"process exited ({proc.returncode}):\n{process_log(proc)}")
        return text in process_log(proc)

    wait_until(seen, timeout_s=timeout_s, what=f"log line {text!r}")


@contextmanager
def service_process(
    module: str, settings: Settings, *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m module`` with these settings; terminate (then kill) it at the end."""
    env = {**os.environ, **settings.to_env()}
    log_dir = ROOT / settings.run_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{module.replace('.', '_')}-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        LOG_PATHS[proc.pid] = log_path
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def provision_test_device(settings: Settings, device_id: str) -> DeviceCredentials:
    """Provision ``device_id`` (broker client + ACL + ``devices`` row) in the test's database."""
    settings = with_broker_credentials(settings)

    async def run() -> DeviceCredentials:
        conn = await asyncpg.connect(settings.db.dsn())
        try:
            with admin_for(settings.mqtt) as admin:
                return await provision_device(device_id, conn=conn, admin=admin, rotate=True)
        finally:
            await conn.close()

    return asyncio.run(run())


SEED_UNIT = """
INSERT INTO units (code, name, kind) VALUES ('T-PSB', 'Test police station', 'police')
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id
"""
SEED_DEVICES = """
WITH d AS (
    INSERT INTO devices (id) SELECT unnest(%(ids)s::text[]) ON CONFLICT (id) DO NOTHING
), p AS (
    INSERT INTO persons (full_name) SELECT 'Person ' || i FROM unnest(%(ids)s::text[]) AS i
    RETURNING id, full_name
), c AS (
    INSERT INTO cases (case_number, person_id, measure, supervising_unit_id, status)
    SELECT 'CASE-' || substr(p.full_name, 8), p.id, 'bail', %(unit)s, 'active' FROM p
    RETURNING id, case_number
)
INSERT INTO device_assignments (device_id, case_id, valid_from)
SELECT substr(c.case_number, 6), c.id, %(since)s FROM c
"""


def seed_devices(
    settings: Settings, device_ids: list[str], *, since: datetime | None = None
) -> None:
    """Known devices, each assigned (from ``since``, default 60 days ago) to its own active case."""
    since = since or datetime.now(UTC) - timedelta(days=60)
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        row = conn.execute(SEED_UNIT).fetchone()
        assert row is not None
        conn.execute(SEED_DEVICES, {"ids": device_ids, "unit": row[0], "since": since})
