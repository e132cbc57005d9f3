"""A world for the assignment-start tests: a police station with an administrator and an
officer, a case whose measure began two days ago with a victim's exclusion zone (one certain fix
inside opens an episode), and an unassigned watch. Set up through SQL; the assignment itself,
the fixes, the alerts and the replay go through the API, MQTT and the ingester."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.app import create_app
from config.settings import Settings
from tests.integration.ingest.helpers import fix, loc

#: The victim's home (centre of the exclusion zone) and a place 5 km east of it.
VICTIM = (118.6749, 37.4340)
AWAY = (118.7315, 37.4340)
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True)
class ReplayWorld:
    case_id: int
    device_id: str
    admin: str
    officer: str
    other_case_id: int


def password(username: str) -> str:
    return f"pw-{username}"


def build(settings: Settings, *, measure_days_ago: int = 2) -> ReplayWorld:
    tag = uuid.uuid4().hex[:6]
    device = f"fit-{tag}"
    admin, officer = f"admin-{tag}", f"officer-{tag}"
    start = (datetime.now(UTC) - timedelta(days=measure_days_ago)).date()
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:

        def one(sql: str, *params: object) -> int:
            row = conn.execute(sql, params).fetchone()
            assert row is not None
            return int(row[0])

        unit = one(
            "INSERT INTO units (code, name, kind) VALUES (%s, 'Station', 'police') RETURNING id",
            f"PSB-{tag}",
        )
        for username, role in ((admin, "admin"), (officer, "police")):
            conn.execute(
                "INSERT INTO users (username, display_name, role, unit_id, password_hash) "
                "VALUES (%s, %s, %s, %s, %s)",
                (username, username, role, unit, _FAST.hash(password(username))),
            )
        cases = []
        for n in range(2):
            person = one("INSERT INTO persons (full_name) VALUES ('X') RETURNING id")
            cases.append(one(
                "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id,"
                " period_start, no_signal_limit_s) VALUES (%s, %s, 'bail', 'active', %s, %s,"
                " 86400) RETURNING id",
                f"C-{tag}-{n}", person, unit, start,
            ))  # fmt: skip
        zone = one(
            "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) "
            "VALUES (%s, 'victim', 'circle', %s, 300) RETURNING id",
            unit, json.dumps({"type": "Point", "coordinates": list(VICTIM)}),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO case_rules (case_id, kind, zone_id, grace) VALUES (%s, 'stay_outside', "
            "%s, %s)",
            (cases[0], zone, json.dumps({"open_after_fixes": 1, "clear_after_fixes": 1})),
        )
        conn.execute("INSERT INTO devices (id, unit_id) VALUES (%s, %s)", (device, unit))
    return ReplayWorld(cases[0], device, admin, officer, cases[1])


def quick(settings: Settings) -> Settings:
    """The ingester reads an unassigned device's assignments again soon, looks for replay work
    often, and lets a dead ingester's claim lapse after two seconds."""
    ingest = settings.ingest.model_copy(
        update={"directory_negative_ttl_s": 0.2, "replay_poll_s": 0.2, "replay_lease_s": 2.0}
    )
    return settings.model_copy(update={"ingest": ingest})


@contextmanager
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/auth/token", data={"username": username, "password": password(username)})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def at_ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def track(device: str, start: datetime, places: list[tuple[float, float]], *, seq0: int = 1,
          step_s: int = 60) -> list[tuple[str, bytes]]:  # fmt: skip
    """One message per fix, ``step_s`` apart from ``start``."""
    return [
        loc(device, fix(at_ms(start) + i * step_s * 1000, seq0 + i, lon=lon, lat=lat))
        for i, (lon, lat) in enumerate(places)
    ]
