"""The alerts process under faults, run as ``python -m alerts``: a poison outbox row among good
ones is dead-lettered while the rest are delivered and the process stays healthy; a loop that
cannot make progress turns ``/healthz`` to 503; a loop that meets a fault a retry cannot mend
ends the process with status 1 (for its supervisor to restart it)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from config.settings import Settings
from tests.integration.alerts.receiver import receiver
from tests.integration.alerts.world import AWAY, HOME, add_circle_rule, build_world, execute, rows
from tests.integration.ingest.helpers import fix, free_port, ingester, loc, now_ms
from tests.support.services import (
    mqtt_client,
    process_log,
    publish_all,
    service_process,
    wait_until,
)

pytestmark = pytest.mark.integration

#: Payloads that break the drain's reader: an event that is not an object (AttributeError), an
#: acknowledgement without its time (KeyError).
POISON = [
    {"event": "opened", "alert": {"id": 1}},
    {"event": {"kind": "acknowledged"}, "alert": {"opened_at": "2026-12-01T00:00:00+00:00"}},
]


def _with_health(settings: Settings, **alerts: Any) -> Settings:
    a = settings.alerts.model_copy(update={"metrics_port": free_port(), **alerts})
    return settings.model_copy(update={"alerts": a})


def healthz(settings: Settings) -> tuple[int, dict[str, Any]]:
    """Status and body of the alerts process's ``/healthz`` (0 and {} while it does not answer)."""
    url = f"http://127.0.0.1:{settings.alerts.metrics_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())
    except OSError:
        return 0, {}


def alerts_metric(settings: Settings, name: str) -> float:
    url = f"http://127.0.0.1:{settings.alerts.metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=2).read().decode()
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.split("{")[0].split(" ")[0] == name
    )


def _subscribe(settings: Settings, topic: str) -> tuple[mqtt.Client, list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []
    lock = threading.Lock()
    a = settings.alerts
    password = a.mqtt_password.get_secret_value() if a.mqtt_password else ""
    client = mqtt_client(settings, username=a.mqtt_username or "", password=password)

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            got.append(json.loads(msg.payload))

    client.on_message = on_message
    client.subscribe(topic, qos=1)
    return client, got


def test_a_poison_row_is_dead_lettered_and_the_others_delivered(alert_settings: Settings) -> None:
    settings = _with_health(alert_settings)
    world = build_world(settings)
    add_circle_rule(settings, world)
    watch = mqtt_client(settings)
    t0 = now_ms() - 60_000

    def outbox_rows() -> int:
        return len(rows(settings, "SELECT 1 FROM outbox WHERE unit_id = %(u)s",
                        {"u": world.police_unit}))  # fmt: skip

    with ingester(settings):
        # An episode opens through the real path, then the poison rows, then it clears: the
        # poison sits between good rows in the drain's first batch.
        publish_all(watch, [loc(world.device_id, fix(t0 + 1000 * i, i, lon=AWAY[0], lat=AWAY[1]))
                            for i in range(2)])  # fmt: skip
        wait_until(lambda: outbox_rows() >= 1, timeout_s=15, what="the opening in the outbox")
        poison_ids = [
            execute(
                settings,
                "INSERT INTO outbox (unit_id, topic, payload) VALUES (%(u)s, 'alert.opened', "
                "%(p)s) RETURNING id",
                {"u": world.police_unit, "p": json.dumps(p)},
            )
            for p in POISON
        ]
        publish_all(watch, [loc(world.device_id, fix(t0 + 5000, 5, lon=HOME[0], lat=HOME[1]))])
        wait_until(lambda: outbox_rows() >= 4, timeout_s=15, what="the clearing in the outbox")
    watch.disconnect()
    watch.loop_stop()
    good = [
        r[0]
        for r in rows(
            settings,
            "SELECT id FROM outbox WHERE unit_id = %(u)s AND NOT id = ANY(%(p)s) ORDER BY id",
            {"u": world.police_unit, "p": poison_ids},
        )
    ]
    assert len(good) >= 2
    assert min(good) < min(poison_ids) < max(poison_ids) < max(good)
    listener, got = _subscribe(settings, f"bw/v1/unit/{world.police_code}/alerts")
    try:
        with service_process("alerts", settings) as proc:

            def settled() -> bool:
                return not rows(
                    settings, "SELECT 1 FROM outbox WHERE delivered_at IS NULL "
                    "AND dead_lettered_at IS NULL",
                )  # fmt: skip

            wait_until(settled, timeout_s=20, what="every outbox row delivered or set aside")
            wait_until(lambda: {d["id"] for d in got} >= set(good), timeout_s=10,
                       what="the good rows on the unit topic")  # fmt: skip
            dead = rows(
                settings, "SELECT id, delivered_at, dead_letter_reason FROM outbox "
                "WHERE dead_lettered_at IS NOT NULL ORDER BY id",
            )  # fmt: skip
            assert [d[0] for d in dead] == poison_ids
            assert all(d[1] is None for d in dead)
            assert dead[0][2].startswith("AttributeError")
            assert dead[1][2].startswith("KeyError")
            assert not {d["id"] for d in got} & set(poison_ids)
            assert alerts_metric(settings, "bailwatch_outbox_dead_letters_total") == 2
            assert alerts_metric(settings, "bailwatch_outbox_backlog_rows") == 0
            status, body = healthz(settings)
            assert status == 200, body
            assert set(body["loops"]) == {"outbox_drain", "webhooks", "watchdog"}
            assert proc.poll() is None
    finally:
        listener.disconnect()
        listener.loop_stop()


def test_healthz_turns_503_while_the_drain_cannot_deliver(alert_settings: Settings) -> None:
    # The alerts process's broker is not there (a closed port): the drain rounds fail.
    broker = alert_settings.mqtt.model_copy(update={"port": free_port()})
    settings = _with_health(
        alert_settings.model_copy(update={"mqtt": broker}), health_stale_s=2.0,
        publish_timeout_s=1.0,
    )  # fmt: skip
    world = build_world(settings)
    with service_process("alerts", settings) as proc:
        wait_until(lambda: healthz(settings)[0] == 200, timeout_s=20, what="a healthy start")
        execute(
            settings,
            "INSERT INTO outbox (unit_id, topic, payload) VALUES (%(u)s, 'alert.opened', %(p)s)",
            {"u": world.police_unit, "p": json.dumps({"event": {"kind": "opened"}})},
        )
        wait_until(lambda: healthz(settings)[0] == 503, timeout_s=15, what="/healthz 503")
        _, body = healthz(settings)
        assert body["status"] == "unhealthy"
        assert body["loops"]["outbox_drain"]["ok"] is False
        assert body["loops"]["watchdog"]["ok"] is True
        assert proc.poll() is None  # waiting for the broker is not a reason to die


def test_a_loop_meeting_a_permanent_fault_ends_the_process_non_zero(
    alert_settings: Settings,
) -> None:
    settings = _with_health(alert_settings)
    with service_process("alerts", settings) as proc:
        wait_until(lambda: healthz(settings)[0] == 200, timeout_s=20, what="a healthy start")
        # The schema no longer matches the code (as after a wrong deploy): no retry mends it.
        execute(settings, "ALTER TABLE outbox RENAME COLUMN delivered_at TO delivered")
        wait_until(lambda: proc.poll() is not None, timeout_s=15, what="the process to exit")
        assert proc.returncode == 1
        records = [json.loads(line) for line in process_log(proc).splitlines()
                   if line.startswith("{")]  # fmt: skip
        ended = [r for r in records if r["msg"].startswith("supervised loop ended")]
        assert ended, "the loop's end is logged"
        assert ended[0]["level"] == "CRITICAL"
        assert ended[0]["loop"] in {"outbox_drain", "webhooks"}
        assert "UndefinedColumnError" in ended[0]["exc"]


def test_a_webhook_that_cannot_be_called_fails_alone(alert_settings: Settings) -> None:
    settings = _with_health(alert_settings)
    world = build_world(settings)
    secret = "s3cret-for-the-test-0123456789"
    with receiver(fail_first=0) as (url, record), service_process("alerts", settings) as proc:
        for hook in ("http://[::1/hook", url):  # the first is no valid URL (unclosed bracket)
            execute(
                settings,
                "INSERT INTO webhooks (unit_id, url, secret) VALUES (%(u)s, %(url)s, %(s)s)",
                {"u": world.police_unit, "url": hook, "s": secret},
            )
        row = execute(
            settings,
            "INSERT INTO outbox (unit_id, topic, payload) VALUES (%(u)s, 'alert.opened', %(p)s) "
            "RETURNING id",
            {"u": world.police_unit, "p": json.dumps({"event": {"kind": "opened"}})},
        )

        def deliveries() -> list[tuple[str, str, str | None]]:
            return rows(
                settings, "SELECT w.url, d.status, d.last_error FROM webhook_deliveries d "
                "JOIN webhooks w ON w.id = d.webhook_id WHERE d.outbox_id = %(o)s ORDER BY w.id",
                {"o": row},
            )  # fmt: skip

        def settled() -> bool:
            found = deliveries()
            return len(found) == 2 and found[0][2] is not None and found[1][1] == "delivered"

        wait_until(settled, timeout_s=15, what="both webhooks attempted")
        (bad, good) = deliveries()
        assert bad[1] == "pending"
        assert bad[2] is not None
        assert bad[2].startswith("InvalidURL")
        assert good[:2] == (url, "delivered")
        assert row in [json.loads(body)["id"] for _, body in record.accepted()]
        assert healthz(settings)[0] == 200
        assert proc.poll() is None
