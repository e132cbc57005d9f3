"""The stage of the verdict scenarios: a world of units and users, cases enrolled with their rules,
and a simulated watch per case that publishes over MQTT with its own device credentials.

Cases, zones, rules, permits and deposits are set up with SQL (as an administrator would through
the API); fixes, statuses and events only ever reach the database through the broker and the real
ingester, which judges them and raises the alerts. Alerts are read, resolved and scored through
the API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from config.settings import Settings
from tests.integration.api import world
from tests.support import services

PURPOSE = "羁押必要性审查 scenario"
#: Every fix of a scenario comes with this accuracy (m) unless it says otherwise.
ACC = 8.0
#: Fixes per published message (a watch uploads its buffer in arrays).
CHUNK = 30
WAIT_S = 30.0

Headers = Callable[[str], dict[str, str]]
#: (kind, zone id or None, grace, params, schedule) of one case rule.
RuleSpec = tuple[str, int | None, dict[str, Any], dict[str, Any], dict[str, Any] | None]
ONE_FIX = {"open_after_fixes": 1, "clear_after_fixes": 1}
INSERT_RULE = (
    "INSERT INTO case_rules (case_id, kind, zone_id, grace, params, schedule) "
    "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
)


@dataclass
class Stage:
    settings: Settings
    world: world.World
    client: TestClient
    token: Headers
    home_zone: int = 0


def execute(settings: Settings, sql: str, *params: object) -> Any:
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        row = cur.fetchone() if cur.description else None
        return row[0] if row else None


@dataclass
class Watch:
    """A defendant's watch: its own broker login, a sequence counter, QoS 1 publishing."""

    device_id: str
    client: mqtt.Client
    seq: int = 0
    sent: int = 0
    topics: list[str] = field(default_factory=list)

    def fixes(self, points: Sequence[tuple[datetime, float, float, float]]) -> None:
        """Publish fixes (time, lon, lat, acc m) in order, ``CHUNK`` to a message."""
        body = []
        for at, lon, lat, acc in points:
            body.append({"ts": _ms(at), "lat": lat, "lon": lon, "acc": acc, "src": "gnss",
                         "seq": self.seq})  # fmt: skip
            self.seq += 1
        messages = [
            (f"bw/v1/dev/{self.device_id}/loc", json.dumps(body[i : i + CHUNK]).encode())
            for i in range(0, len(body), CHUNK)
        ]
        services.publish_all(self.client, messages)
        self.sent += len(body)

    def status(self, at: datetime, **fields: object) -> None:
        payload = json.dumps({"ts": _ms(at), **fields}).encode()
        services.publish_all(self.client, [(f"bw/v1/dev/{self.device_id}/status", payload)])

    def event(self, at: datetime, kind: str) -> None:
        payload = json.dumps({"ts": _ms(at), "kind": kind}).encode()
        services.publish_all(self.client, [(f"bw/v1/dev/{self.device_id}/event", payload)])

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass
class Case:
    stage: Stage
    case_id: int
    watch: Watch
    rule_ids: list[int]

    def stored(self) -> int:
        return int(
            execute(
                self.stage.settings,
                "SELECT count(*) FROM pings WHERE device_id = %s",
                self.watch.device_id,
            )
        )

    def wait_stored(self) -> None:
        """Until every fix the watch sent is stored (and so judged: evaluation commits with
        the fixes)."""
        what = f"{self.watch.sent} fixes of {self.watch.device_id} stored"
        services.wait_until(lambda: self.stored() == self.watch.sent, timeout_s=WAIT_S, what=what)

    def alerts(self) -> list[dict[str, Any]]:
        """The case's alerts as the API lists them, oldest first."""
        r = self.stage.client.get(
            f"/alerts?case_id={self.case_id}&limit=100", headers=self.stage.token("police1")
        )
        assert r.status_code == 200, r.text
        return sorted(r.json()["items"], key=lambda a: a["id"])

    def wait_alerts(self, *kinds: str) -> list[dict[str, Any]]:
        """Until the case has an alert of each of ``kinds``; returns them in that order."""
        found: dict[str, dict[str, Any]] = {}

        def have() -> bool:
            found.clear()
            for a in self.alerts():
                found.setdefault(a["kind"], a)
            return all(k in found for k in kinds)

        services.wait_until(have, timeout_s=WAIT_S, what=f"alerts {kinds} of case {self.case_id}")
        return [found[k] for k in kinds]

    def resolve(self, alert: dict[str, Any], disposition: str) -> None:
        r = self.stage.client.post(
            f"/alerts/{alert['id']}/resolve",
            headers=self.stage.token("police1"),
            json={"disposition": disposition, "note": f"scenario: {disposition}"},
        )
        assert r.status_code == 200, r.text

    def compliance(self, start: datetime, end: datetime) -> dict[str, Any]:
        r = self.stage.client.get(
            f"/cases/{self.case_id}/compliance",
            params={"from": start.isoformat(), "to": end.isoformat(), "purpose": PURPOSE},
            headers=self.stage.token("pros1"),
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def enrol(
    stage: Stage,
    *,
    since: datetime,
    rules: Sequence[RuleSpec] = (),
    measure: str = "bail",
) -> Case:
    """A case of station P1 (prosecutor pros1) with ``rules``, and a freshly provisioned watch
    assigned to it from ``since``, connected to the broker with its own credentials."""
    s, w = stage.settings, stage.world
    tag = uuid.uuid4().hex[:8]
    person = execute(s, "INSERT INTO persons (full_name, unit_id) VALUES (%s, %s) RETURNING id",
                     f"被告人{tag}", w.units["P1"])  # fmt: skip
    case_id = int(
        execute(
            s,
            "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id, "
            "procuratorate_unit_id, prosecutor_user_id) VALUES (%s, %s, %s, 'active', %s, %s, %s)"
            " RETURNING id",
            f"东检-{tag}", person, measure, w.units["P1"], w.units["PROC"], w.users["pros1"],
        )
    )  # fmt: skip
    rule_ids = []
    for kind, zone, grace, params, schedule in rules:
        sched = None if schedule is None else Jsonb(schedule)
        rule = execute(s, INSERT_RULE, case_id, kind, zone, Jsonb(grace), Jsonb(params), sched)
        rule_ids.append(int(rule))
    device = f"sw-{tag}"
    creds = services.provision_test_device(s, device)
    execute(s, "UPDATE devices SET unit_id = %s WHERE id = %s", w.units["P1"], device)
    execute(
        s,
        "INSERT INTO device_assignments (device_id, case_id, valid_from) VALUES (%s, %s, %s)",
        device, case_id, since,
    )  # fmt: skip
    client = services.mqtt_client(s, username=creds.username, password=creds.password)
    return Case(stage, case_id, Watch(device, client), rule_ids)


def every_minute(
    start: datetime, minutes: int, where: tuple[float, float], acc: float = ACC
) -> list[tuple[datetime, float, float, float]]:
    """One fix a minute (30 s into each minute) for ``minutes`` minutes at ``where``."""
    return [
        (start + timedelta(minutes=i, seconds=30), where[0], where[1], acc) for i in range(minutes)
    ]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def rows(body: dict[str, Any]) -> list[str]:
    """The table lines of a compliance report's points, in order."""
    return [p["row"] for p in body["points"]]
