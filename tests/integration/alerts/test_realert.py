"""Re-alert and evidence coalescing over the real path: a watch publishes over MQTT, an ingester
stores and judges its fixes, an officer resolves the alert through the API while the wearer is
still in the victim's zone, and the live stream (``GET /alerts/stream``) is read as a console
would read it.

- While the condition goes on, every fix is recorded as evidence, but the stream carries at most
  one ``evidence_added`` entry per alert per ``stream_evidence_every_s``, and those entries
  together count every fix.
- A false alarm resolved while the wearer is still inside does not silence what follows: once
  the condition has gone on for ``realert_after_s`` after the resolution, a new alert opens (it
  follows the resolved one, starts at the first fix after the resolution, holds those fixes);
  the resolved alert gets no evidence after its resolution.
- When the wearer leaves, the episode clears: both alerts say so.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.auth import tokens
from config.settings import Settings
from tests.integration.alerts.sse import SseClient
from tests.integration.alerts.test_stream import wait_ready
from tests.integration.alerts.world import HOME, World, add_circle_rule, build_world, rows
from tests.integration.ingest.helpers import fix, free_port, ingester, loc, with_metrics
from tests.support import services

pytestmark = pytest.mark.integration

#: The live stream's evidence window (s) and the re-alert delay (s) of these tests.
EVERY_S = 3.0
REALERT_S = 2.0
#: Just outside the 1 km zone around HOME.
NEARBY = (HOME[0] + 0.0136, HOME[1])


def _settings(alert_settings: Settings) -> Settings:
    alerts = alert_settings.alerts.model_copy(
        update={"stream_evidence_every_s": EVERY_S, "realert_after_s": REALERT_S}
    )
    api = alert_settings.api.model_copy(update={"port": free_port()})
    return with_metrics(alert_settings.model_copy(update={"alerts": alerts, "api": api}))


def _bearer(settings: Settings, user_id: int) -> dict[str, str]:
    token, _ = tokens.issue(
        settings.api, user_id=user_id, token_type="access", now=datetime.now(UTC)
    )
    return {"Authorization": f"Bearer {token}"}


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class Watch:
    """Publishes one fix at a time and waits until the ingester has stored it (so each fix is
    its own batch, as with a watch reporting every few seconds)."""

    def __init__(self, settings: Settings, world: World) -> None:
        self.settings, self.world = settings, world
        self.client = services.mqtt_client(settings)
        self.seq = 0

    def send(self, at_ms: int, where: tuple[float, float]) -> int:
        seq = self.seq
        self.seq += 1
        body = fix(at_ms, seq, lon=where[0], lat=where[1], acc=10.0)
        services.publish_all(self.client, [loc(self.world.device_id, body)])
        services.wait_until(
            lambda: bool(rows(self.settings, "SELECT 1 FROM pings WHERE device_id = %(d)s AND "
                              "seq = %(s)s", {"d": self.world.device_id, "s": seq})),
            timeout_s=20, what=f"fix {seq} stored",
        )  # fmt: skip
        return seq

    def close(self) -> None:
        self.client.disconnect()


def _alerts(settings: Settings, world: World) -> list[dict[str, Any]]:
    found = rows(
        settings,
        "SELECT id, status, follows_alert_id, started_at, cleared_at, late, evidence, "
        "resolved_at FROM alerts WHERE case_id = %(c)s ORDER BY id",
        {"c": world.case_id},
    )
    keys = ("id", "status", "follows", "started_at", "cleared_at", "late", "evidence", "resolved")
    return [dict(zip(keys, r, strict=True)) for r in found]


def _evidence_entries(settings: Settings, alert_id: int) -> list[tuple[int, Any]]:
    return [
        (r[0], r[1])
        for r in rows(
            settings,
            "SELECT id, data FROM alert_events WHERE alert_id = %(a)s "
            "AND kind = 'evidence_added' ORDER BY id",
            {"a": alert_id},
        )
    ]


def _stream_evidence(sse: SseClient, alert_id: int) -> list[tuple[dict[str, Any], float]]:
    return [
        (doc, arrived)
        for _, topic, doc, arrived in list(sse.events)
        if topic == "alert.evidence_added" and doc["alert"]["id"] == alert_id
    ]


def test_false_alarm_while_inside_realerts_and_the_stream_folds_evidence(
    alert_settings: Settings,
) -> None:
    settings = _settings(alert_settings)
    world = build_world(settings, no_signal_limit_s=30 * 86_400)
    add_circle_rule(settings, world, kind="stay_outside")
    base = f"http://127.0.0.1:{settings.api.port}"
    headers = _bearer(settings, world.supervisor_id)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
    with ingester(settings), services.service_process("api", settings) as api:
        wait_ready(settings, api)
        sse = SseClient(f"{base}/alerts/stream", headers).start()
        watch = Watch(settings, world)
        try:
            # Inside the victim's zone for six fixes, each its own batch.
            inside = [watch.send(_ms(t0 + timedelta(seconds=2 * i)), HOME) for i in range(6)]
            first = _alerts(settings, world)
            assert len(first) == 1
            alert_a = first[0]["id"]
            recorded = _evidence_entries(settings, alert_a)
            added = sum(d["fixes"] for _, d in recorded)
            assert {e["seq"] for e in first[0]["evidence"]} == set(inside)
            assert len(recorded) >= 4  # one entry per batch in the timeline

            def folded_all() -> bool:
                live = _stream_evidence(sse, alert_a)
                return bool(sum(int(d["event"]["data"]["fixes"]) for d, _ in live) == added)

            services.wait_until(folded_all, timeout_s=EVERY_S + 10, what="the folded evidence")
            live = _stream_evidence(sse, alert_a)
            assert len(live) < len(recorded)
            gaps = [b - a for (_, a), (_, b) in itertools.pairwise(live)]
            assert all(g >= EVERY_S - 0.25 for g in gaps), gaps
            newest = live[-1][0]["event"]["data"]
            assert newest["latest"]["seq"] == inside[-1]
            assert (newest["latest"]["lon"], newest["latest"]["lat"]) == HOME
            if len(live) > 1:
                assert newest["coalesced"]["entries"] >= 2

            # The officer calls it a false alarm while the wearer is still inside.
            r = httpx.post(
                f"{base}/alerts/{alert_a}/resolve", headers=headers,
                json={"disposition": "false_alarm", "note": "thought to be a GPS drift"},
            )  # fmt: skip
            assert r.status_code == 200, r.text
            resolved = r.json()
            assert resolved["condition_ongoing"] is True
            assert "2 秒" in resolved["notice"]
            assert "2 s" in resolved["notice"]
            resolved_at = datetime.fromisoformat(resolved["resolved_at"])
            entries_at_resolution = _evidence_entries(settings, alert_a)

            def after_ms(step: int) -> int:
                """Fix time (ms) ``step`` half-seconds after the resolution (rounded up)."""
                return _ms(resolved_at) + 1 + 500 * step

            # Still inside: fixes after the resolution, until a new alert opens.
            after = []
            step = 0
            while len(_alerts(settings, world)) < 2:
                step += 1
                assert step <= 10, "no new alert after the condition persisted"
                after.append(watch.send(after_ms(step), HOME))
            # Fixes 0.5 s apart: the 4th is REALERT_S after the resolution.
            assert step == int(REALERT_S / 0.5)
            old, new = _alerts(settings, world)
            assert new["follows"] == alert_a
            assert new["status"] == "open"
            assert not new["late"]
            assert _ms(new["started_at"]) == after_ms(1)
            assert [e["seq"] for e in new["evidence"]] == after
            assert old["status"] == "resolved"
            assert old["evidence"] == first[0]["evidence"]
            assert _evidence_entries(settings, alert_a) == entries_at_resolution

            services.wait_until(
                lambda: any(t == "alert.opened" and d["alert"]["id"] == new["id"]
                            for _, t, d, _ in list(sse.events)),
                timeout_s=10, what="the new alert on the stream",
            )  # fmt: skip
            opened = next(
                d for _, t, d, _ in list(sse.events)
                if t == "alert.opened" and d["alert"]["id"] == new["id"]
            )  # fmt: skip
            data = opened["event"]["data"]
            assert data["reason"] == "persists_after_resolution"
            assert data["follows"]["alert_id"] == alert_a
            assert data["follows"]["disposition"] == "false_alarm"

            # One more fix inside goes to the new alert; then the wearer leaves.
            more = watch.send(after_ms(step + 1), HOME)
            assert more in {e["seq"] for e in _alerts(settings, world)[1]["evidence"]}
            # 1.2 km east, two minutes later (a plausible walk; the ingester refuses jumps).
            watch.send(after_ms(step + 1) + 120_000, NEARBY)
            services.wait_until(
                lambda: all(a["cleared_at"] is not None for a in _alerts(settings, world)),
                timeout_s=10, what="the episode cleared on both alerts",
            )  # fmt: skip
            assert len(_alerts(settings, world)) == 2
        finally:
            watch.close()
            sse.close()


def test_a_condition_that_ends_within_the_delay_raises_nothing_more(
    alert_settings: Settings,
) -> None:
    """Resolved while inside, one more fix inside (held), then the wearer leaves before the
    re-alert delay: no new alert, nothing held, the resolved alert records the clearing; an
    alert resolved after its condition ended carries no notice."""
    settings = _settings(alert_settings)
    world = build_world(settings, no_signal_limit_s=30 * 86_400)
    add_circle_rule(settings, world, kind="stay_outside")
    base = f"http://127.0.0.1:{settings.api.port}"
    headers = _bearer(settings, world.supervisor_id)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
    with ingester(settings), services.service_process("api", settings) as api:
        wait_ready(settings, api)
        watch = Watch(settings, world)
        try:
            watch.send(_ms(t0), HOME)
            (alert,) = _alerts(settings, world)
            r = httpx.post(
                f"{base}/alerts/{alert['id']}/resolve", headers=headers,
                json={"disposition": "excused_by_permit", "note": "visiting the hospital"},
            )  # fmt: skip
            assert r.status_code == 200, r.text
            resolved_at = datetime.fromisoformat(r.json()["resolved_at"])
            held = watch.send(_ms(resolved_at) + 500, HOME)
            pending = rows(settings, "SELECT evidence FROM alert_realert_pending")
            assert [[e["seq"] for e in p[0]] for p in pending] == [[held]]
            watch.send(_ms(resolved_at) + 120_000, NEARBY)
            (after,) = _alerts(settings, world)
            assert after["cleared_at"] is not None
            assert after["evidence"] == alert["evidence"]
            assert rows(settings, "SELECT 1 FROM alert_realert_pending") == []
            cleared = rows(
                settings,
                "SELECT count(*) FROM alert_events WHERE alert_id = %(a)s "
                "AND kind = 'condition_cleared'",
                {"a": alert["id"]},
            )
            assert cleared == [(1,)]

            # A new episode that ends before the officer resolves it: no notice.
            watch.send(_ms(resolved_at) + 180_000, HOME)
            watch.send(_ms(resolved_at) + 240_000, NEARBY)
            latest = _alerts(settings, world)[-1]
            assert latest["follows"] is None
            assert latest["cleared_at"] is not None
            r = httpx.post(
                f"{base}/alerts/{latest['id']}/resolve", headers=headers,
                json={"disposition": "violation_confirmed", "note": "entered, then left"},
            )  # fmt: skip
            assert r.status_code == 200, r.text
            assert r.json()["condition_ongoing"] is False
            assert r.json()["notice"] is None
        finally:
            watch.close()


def _strap(world: World, at_ms: int, state: str) -> tuple[str, bytes]:
    body = {"ts": at_ms, "batt": 80, "charging": False, "strap": state}
    return f"bw/v1/dev/{world.device_id}/status", json.dumps(body).encode()


def test_a_strap_still_open_after_a_resolution_alerts_again(alert_settings: Settings) -> None:
    """Status reports over MQTT: the strap opens (alert), more reports say it is still open
    (evidence), the alert is resolved as a technical fault while it is still open, and the
    reports that follow open a new alert once the rule's grace (two reports) and the delay are
    met."""
    settings = _settings(alert_settings)
    world = build_world(settings, no_signal_limit_s=30 * 86_400)
    base = f"http://127.0.0.1:{settings.api.port}"
    headers = _bearer(settings, world.supervisor_id)
    t0 = _ms(datetime.now(UTC)) - 60_000
    client = services.mqtt_client(settings)

    def report(at_ms: int, what: str) -> None:
        services.publish_all(client, [_strap(world, at_ms, "open")])
        services.wait_until(
            lambda: bool(rows(settings, "SELECT 1 FROM device_status WHERE device_id = %(d)s "
                              "AND last_status_at >= %(t)s",
                              {"d": world.device_id,
                               "t": datetime.fromtimestamp(at_ms / 1000, UTC)})),
            timeout_s=20, what=what,
        )  # fmt: skip

    try:
        with ingester(settings), services.service_process("api", settings) as api:
            wait_ready(settings, api)
            report(t0, "the strap opened")
            report(t0 + 10_000, "the strap still open")
            (alert,) = _alerts(settings, world)
            assert len(alert["evidence"]) == 2
            r = httpx.post(
                f"{base}/alerts/{alert['id']}/resolve", headers=headers,
                json={"disposition": "technical_fault", "note": "sensor fault reported"},
            )  # fmt: skip
            assert r.status_code == 200, r.text
            assert "2 秒" in r.json()["notice"]
            resolved_at = datetime.fromisoformat(r.json()["resolved_at"])
            report(_ms(resolved_at) + 1000, "a report after the resolution")
            assert len(_alerts(settings, world)) == 1  # one report: not the rule's grace yet
            report(_ms(resolved_at) + 2500, "a second report after the resolution")
            services.wait_until(
                lambda: len(_alerts(settings, world)) == 2, timeout_s=10, what="the new alert"
            )
            old, new = _alerts(settings, world)
            assert new["follows"] == old["id"]
            assert len(new["evidence"]) == 2
            assert old["evidence"] == alert["evidence"]
    finally:
        client.disconnect()
