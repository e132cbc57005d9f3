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
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
import psycopg
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from api.compliance.score import Row
from config.settings import Settings
from tests.integration.api import world
from tests.support import services

PURPOSE = "羁押必要性审查 scenario"
#: Every fix of a scenario comes with this accuracy (m) unless it says otherwise.
ACC = 8.0
#: Fixes per published message (a watch uploads its buffer in arrays).
CHUNK = 30
WAIT_S = 30.0

#: Where the scenarios happen (the world's city is the square 118.30-118.70 E, 37.25-37.65 N;
#: the victim's exclusion zone a 300 m circle at 118.55 E, 37.45 N).
LIVE = (118.69, 37.45)  # at home, 880 m inside the city's eastern edge
OUT = (118.72, 37.45)  # 1.8 km outside it
EDGE = (118.70, 37.45)  # on the edge: with 200 m accuracy, uncertain
NEAR_VICTIM = (118.54, 37.45)  # 880 m west of the victim's home
PAST_VICTIM = (118.56, 37.45)
#: Start of every scenario: two days ago, on the hour (fixes are in the past, never waited for).
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
END = BASE + timedelta(hours=2)

#: The table lines each scenario produces (each scenario asserts exactly its lines).
PRODUCES: dict[str, set[Row]] = {}
F = TypeVar("F", bound=Callable[..., None])

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

    def wait_stored(self) -> None:
        """Until every fix the watch sent is stored (and so judged: evaluation commits with
        the fixes)."""
        wait_stored(self.stage.settings, self.watch)

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


def protect(case: Case, device: str, *, since: datetime) -> Watch:
    """A protected person's phone or watch for ``case`` (a keep_away_from rule names it),
    provisioned and connected with its own credentials."""
    s = case.stage.settings
    creds = services.provision_test_device(s, device)
    execute(
        s,
        "INSERT INTO device_assignments (device_id, case_id, role, valid_from) "
        "VALUES (%s, %s, 'protected_person', %s)",
        device, case.case_id, since,
    )  # fmt: skip
    client = services.mqtt_client(s, username=creds.username, password=creds.password)
    return Watch(device, client)


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


def produces(*lines: Row) -> Callable[[F], F]:
    """Register the table lines a scenario produces (it asserts them itself)."""

    def register(test: F) -> F:
        PRODUCES[test.__name__] = set(lines)
        return test

    return register


def inside(stage: Stage, grace: dict[str, Any] | None = None) -> RuleSpec:
    """The rule to stay inside the world's city (one fix opens and clears, unless ``grace``)."""
    return ("stay_inside", stage.world.zone_city, grace or ONE_FIX, {}, None)


def scored(body: dict[str, Any], *expected: Row) -> None:
    """The report's points come from exactly the ``expected`` lines, in order."""
    assert rows(body) == [r.value for r in expected], body["points"]


def wait_stored(settings: Settings, watch: Watch) -> None:
    """Until every fix ``watch`` sent is stored."""

    def stored() -> bool:
        n = execute(settings, "SELECT count(*) FROM pings WHERE device_id = %s", watch.device_id)
        return int(n) == watch.sent

    what = f"{watch.sent} fixes of {watch.device_id} stored"
    services.wait_until(stored, timeout_s=WAIT_S, what=what)


def run_watch(
    stage: Stage, watch: Watch, fixes: list[tuple[datetime, float, float, float]]
) -> None:
    """Publish the fixes from ``watch``, wait until all are stored, disconnect."""
    try:
        watch.fixes(fixes)
        wait_stored(stage.settings, watch)
    finally:
        watch.close()


def run(case: Case, fixes: list[tuple[datetime, float, float, float]]) -> None:
    """Publish the fixes from the case's watch, wait until all are stored, disconnect."""
    try:
        case.watch.fixes(fixes)
        case.wait_stored()
    finally:
        case.watch.close()
