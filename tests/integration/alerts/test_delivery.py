"""The alerts process against the real broker and database: the watchdog with the ingester
idle (two alerts processes, one alert), webhooks retried until delivered once and signed,
the unit's MQTT topic and retained summary."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt

from alerts.evaluate import EvaluationInput, Evaluator
from alerts.metrics import AlertMetrics
from alerts.webhooks import SIGNATURE_HEADER, verify
from config.settings import Settings
from ingest.models import Status
from store.pool import open_pool
from tests.integration.alerts.receiver import receiver
from tests.integration.alerts.world import build_world, execute, rows
from tests.integration.ingest.helpers import fix, ingester, loc
from tests.support.services import mqtt_client, publish_all, service_process, wait_until


def alerts_process(
    settings: Settings, suffix: str = ""
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """``python -m alerts`` with these settings (a client id suffix for a second process)."""
    a = settings.alerts.model_copy(
        update={"mqtt_client_id": settings.alerts.mqtt_client_id + suffix}
    )
    return service_process("alerts", settings.model_copy(update={"alerts": a}))


def test_watchdog_fires_with_the_ingester_idle_once_with_two_processes(
    alert_settings: Settings,
) -> None:
    settings = alert_settings
    world = build_world(settings, no_signal_limit_s=2)
    seen = datetime.now(UTC)
    execute(
        settings,
        "INSERT INTO device_status (device_id, last_seen_at) VALUES (%(d)s, %(t)s)",
        {"d": world.device_id, "t": seen},
    )
    with ingester(settings), alerts_process(settings, "-a"), alerts_process(settings, "-b"):

        def opened() -> bool:
            return bool(rows(settings, "SELECT 1 FROM alerts WHERE kind = 'no_signal'"))

        wait_until(opened, timeout_s=15, what="a no-signal alert")
        found = rows(settings, "SELECT opened_at, status, id FROM alerts WHERE kind = 'no_signal'")
        assert len(found) == 1
        delay = (found[0][0] - (seen + timedelta(seconds=2))).total_seconds()
        assert delay < 5, f"no signal opened {delay:.1f}s after the limit"
        time.sleep(1.5)  # both watchdogs run more rounds: still one alert, one opening
        assert len(rows(settings, "SELECT 1 FROM alerts")) == 1
        events = rows(
            settings, "SELECT kind FROM alert_events WHERE alert_id = %(a)s", {"a": found[0][2]}
        )
        assert [e[0] for e in events] == ["opened"]
        # The watch comes back: the condition clears, the alert stays for an officer.
        client = mqtt_client(settings)
        try:
            publish_all(client, [loc(world.device_id, fix(int(time.time() * 1000), 1))])
        finally:
            client.disconnect()
            client.loop_stop()

        def cleared() -> bool:
            return bool(rows(settings, "SELECT 1 FROM alerts WHERE cleared_at IS NOT NULL"))

        wait_until(cleared, timeout_s=10, what="the no-signal condition to clear")
        assert rows(settings, "SELECT status FROM alerts") == [("open",)]


async def _open_strap_alert(settings: Settings, device_id: str) -> None:
    evaluator = Evaluator(settings.alerts, AlertMetrics())
    now = datetime.now(UTC)
    status = Status(device_id, now, now, 50, False, False)
    async with (
        open_pool(settings.db, application_name="test") as pool,
        pool.acquire() as conn,
        conn.transaction(),
    ):
        await evaluator.run(conn, EvaluationInput([], statuses=[status]))


def _subscribe(
    settings: Settings, topics: list[str]
) -> tuple[mqtt.Client, list[tuple[str, bytes]]]:
    got: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    a = settings.alerts
    password = a.mqtt_password.get_secret_value() if a.mqtt_password else ""
    client = mqtt_client(settings, username=a.mqtt_username or "", password=password)

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            got.append((msg.topic, bytes(msg.payload)))

    client.on_message = on_message
    for t in topics:
        client.subscribe(t, qos=1)
    return client, got


def test_webhook_failing_twice_gets_the_alert_once_signed(alert_settings: Settings) -> None:
    settings = alert_settings
    world = build_world(settings, no_signal_limit_s=30 * 86_400)
    unit_topic = f"bw/v1/unit/{world.police_code}/alerts"
    client, got = _subscribe(settings, [unit_topic, unit_topic + "/summary"])
    secret = "s3cret-for-the-test-0123456789"
    with receiver(fail_first=2) as (url, record), alerts_process(settings):
        execute(
            settings,
            "INSERT INTO webhooks (unit_id, url, secret) VALUES (%(u)s, %(url)s, %(s)s)",
            {"u": world.police_unit, "url": url, "s": secret},
        )
        asyncio.run(_open_strap_alert(settings, world.device_id))
        wait_until(lambda: len(record.accepted()) >= 1, timeout_s=20, what="a delivered webhook")
        time.sleep(1.0)  # nothing more arrives
        accepted = record.accepted()
        assert len(accepted) == 1
        assert len(record.requests) == 3
        headers, body = accepted[0]
        assert verify(secret, headers[SIGNATURE_HEADER], body, now=time.time(), tolerance_s=60)
        assert not verify("another-secret-0123456", headers[SIGNATURE_HEADER], body,
                          now=time.time(), tolerance_s=60)  # fmt: skip
        doc = json.loads(body)
        assert doc["type"] == "alert.opened"
        assert doc["alert"]["kind"] == "strap_opened"
        assert rows(settings, "SELECT status, attempts FROM webhook_deliveries") == [
            ("delivered", 3)
        ]
        wait_until(lambda: len(got) >= 2, timeout_s=10, what="unit topic and summary messages")
    client.disconnect()
    client.loop_stop()
    topics = {t: json.loads(p) for t, p in got}
    assert topics[unit_topic]["alert"]["kind"] == "strap_opened"
    assert topics[unit_topic + "/summary"]["open"] == 1
