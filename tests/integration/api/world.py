"""A small hand-made world for the API tests: two police stations under a city bureau, a
procuratorate, a notary, one user per role, two cases (one per station), a watch with fixes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from argon2 import PasswordHasher
from psycopg.types.json import Jsonb

from config.settings import Settings

#: Cheap argon2 parameters: the hashes verify with the default hasher (parameters are encoded).
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

#: username -> (role, unit code)
USERS = {
    "police1": ("police", "P1"),
    "super1": ("supervisor", "P1"),
    "police2": ("police", "P2"),
    "super2": ("supervisor", "P2"),
    "pros1": ("prosecutor", "PROC"),
    "admin": ("admin", "CITY"),
    "auditor": ("auditor", "CITY"),
}
CENTRE = (118.50, 37.45)
#: Start of the fixes: 2 hours of one fix a minute, 2026-11-01 00:00 UTC.
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def password(username: str) -> str:
    return f"pw-{username}"


@dataclass
class World:
    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    case_a: int = 0
    case_b: int = 0
    person_a: int = 0
    zone_city: int = 0
    zone_victim: int = 0
    device: str = "W-A1"


def square(cx: float, cy: float, half: float) -> dict[str, object]:
    ring = [
        [cx - half, cy - half],
        [cx + half, cy - half],
        [cx + half, cy + half],
        [cx - half, cy + half],
        [cx - half, cy - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def build(settings: Settings) -> World:
    w = World()
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        for code, kind, parent in (
            ("CITY", "police", None),
            ("P1", "police", "CITY"),
            ("P2", "police", "CITY"),
            ("PROC", "procuratorate", None),
            ("NOTARY", "notary", None),
        ):
            row = conn.execute(
                "INSERT INTO units (code, name, kind, parent_id) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (code, f"Unit {code}", kind, w.units.get(parent or "")),
            ).fetchone()
            assert row
            w.units[code] = row[0]
        hashed = _FAST.hash("x")
        for username, (role, unit) in USERS.items():
            hashed = _FAST.hash(password(username))
            row = conn.execute(
                "INSERT INTO users (username, display_name, role, unit_id, password_hash) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (username, username.title(), role, w.units[unit], hashed),
            ).fetchone()
            assert row
            w.users[username] = row[0]
        ids = []
        for number, unit, name in (("A-1", "P1", "Person A"), ("B-1", "P2", "Person B")):
            p = conn.execute(
                "INSERT INTO persons (full_name, unit_id) VALUES (%s, %s) RETURNING id",
                (name, w.units[unit]),
            ).fetchone()
            assert p
            c = conn.execute(
                "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id,"
                " procuratorate_unit_id, prosecutor_user_id, period_start, period_end) VALUES "
                "(%s, %s, 'bail', 'active', %s, %s, %s, '2026-10-01', '2027-09-30') RETURNING id",
                (
                    number,
                    p[0],
                    w.units[unit],
                    w.units["PROC"] if unit == "P1" else None,
                    w.users["pros1"] if unit == "P1" else None,
                ),
            ).fetchone()
            assert c
            ids.append((p[0], c[0]))
        (w.person_a, w.case_a), (_, w.case_b) = ids
        z = conn.execute(
            "INSERT INTO zones (unit_id, name, kind, geometry) VALUES (%s, 'city', 'polygon', %s)"
            " RETURNING id",
            (w.units["P1"], Jsonb(square(*CENTRE, 0.2))),
        ).fetchone()
        assert z
        w.zone_city = z[0]
        z = conn.execute(
            "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) VALUES "
            "(%s, 'victim', 'circle', %s, 300) RETURNING id",
            (w.units["P1"], Jsonb({"type": "Point", "coordinates": [CENTRE[0] + 0.05, CENTRE[1]]})),
        ).fetchone()
        assert z
        w.zone_victim = z[0]
        conn.execute(
            "INSERT INTO case_rules (case_id, kind, zone_id) VALUES (%s, 'stay_inside', %s), "
            "(%s, 'stay_outside', %s)",
            (w.case_a, w.zone_city, w.case_a, w.zone_victim),
        )
        conn.execute("INSERT INTO devices (id, unit_id) VALUES (%s, %s)", (w.device, w.units["P1"]))
        conn.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) VALUES (%s, %s, %s)",
            (w.device, w.case_a, T0 - timedelta(days=1)),
        )
    return w


def insert_fixes(
    settings: Settings,
    device: str,
    case_id: int,
    fixes: list[tuple[datetime, float, float, float]],
    *,
    src: str = "gnss",
) -> None:
    """Store fixes (time, lon, lat, acc m) for ``device`` on ``case_id``, creating partitions."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        days = sorted({t.date() for t, *_ in fixes})
        conn.execute("SELECT bw_ensure_ping_partitions(%s, %s)", (days[0], days[-1]))
        with conn.cursor().copy(
            "COPY pings (device_id, fix_time, seq, case_id, received_at, lon, lat, acc, src) "
            "FROM STDIN"
        ) as copy:
            for seq, (t, lon, lat, acc) in enumerate(fixes):
                copy.write_row((device, t, seq, case_id, t, lon, lat, acc, src))


def insert_alert(
    settings: Settings,
    case_id: int,
    unit_id: int,
    *,
    kind: str = "stay_inside",
    severity: str = "high",
    opened_at: datetime = T0,
) -> int:
    """An open alert as the alerts package would raise it (a unique episode key each time)."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO alerts (case_id, unit_id, kind, severity, episode_key, started_at, "
            "opened_at) VALUES (%s, %s, %s, %s, gen_random_uuid()::text, %s, %s) RETURNING id",
            (case_id, unit_id, kind, severity, opened_at, opened_at),
        ).fetchone()
        assert row
        return int(row[0])
