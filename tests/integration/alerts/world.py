"""A small world for alert tests: units, a supervisor, a case with a watch, zones and rules."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from config.settings import Settings
from ingest.models import Ping

#: Centre of the permitted circle (Dongying) and a point 5 km east of it.
HOME = (118.6749, 37.4340)
AWAY = (118.7315, 37.4340)

#: Time of the first fix of :func:`ping` sequences (ten minutes ago, whole seconds).
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def ping(device: str, i: int, where: tuple[float, float]) -> Ping:
    """The ``i``-th fix of ``device`` at ``where`` (lon, lat): 10 s apart from :data:`T0`,
    received 1 s after its fix time, 10 m accuracy."""
    at = T0 + timedelta(seconds=10 * i)
    return Ping(device, at, i, at + timedelta(seconds=1), where[0], where[1], 10.0, "gnss")


@dataclass(frozen=True)
class World:
    """Ids of what :func:`build_world` created."""

    police_unit: int
    police_code: str
    procuratorate_unit: int
    supervisor_id: int
    case_id: int
    device_id: str


def execute(settings: Settings, sql: str, params: dict[str, Any] | None = None) -> Any:
    """Run ``sql`` (autocommit) and return the first column of the first row, if any."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        cur = conn.execute(sql, params or {})
        row = cur.fetchone() if cur.description else None
        return row[0] if row else None


def rows(settings: Settings, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        return conn.execute(sql, params or {}).fetchall()


def build_world(
    settings: Settings, *, device_id: str | None = None, no_signal_limit_s: int = 1800
) -> World:
    """One police unit with a supervisor, a procuratorate, a case and its assigned watch."""
    tag = uuid.uuid4().hex[:6]
    device_id = device_id or f"w{tag}"
    code = f"PSB-{tag}"
    police = execute(
        settings,
        "INSERT INTO units (code, name, kind) VALUES (%(c)s, 'Station', 'police') RETURNING id",
        {"c": code},
    )
    proc = execute(
        settings,
        "INSERT INTO units (code, name, kind) VALUES (%(c)s, 'Procuratorate', 'procuratorate') "
        "RETURNING id",
        {"c": f"PRO-{tag}"},
    )
    supervisor = execute(
        settings,
        "INSERT INTO users (username, display_name, role, unit_id) "
        "VALUES (%(u)s, 'Sup', 'supervisor', %(unit)s) RETURNING id",
        {"u": f"sup-{tag}", "unit": police},
    )
    person = execute(settings, "INSERT INTO persons (full_name) VALUES ('X') RETURNING id")
    case_id = execute(
        settings,
        "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id, "
        "procuratorate_unit_id, no_signal_limit_s) VALUES (%(n)s, %(p)s, 'bail', 'active', "
        "%(u)s, %(pr)s, %(lim)s) RETURNING id",
        {"n": f"C-{tag}", "p": person, "u": police, "pr": proc, "lim": no_signal_limit_s},
    )
    execute(
        settings,
        "INSERT INTO devices (id) VALUES (%(d)s) ON CONFLICT DO NOTHING",
        {"d": device_id},
    )
    execute(
        settings,
        "INSERT INTO device_assignments (device_id, case_id, valid_from) "
        "VALUES (%(d)s, %(c)s, %(f)s)",
        {"d": device_id, "c": case_id, "f": datetime.now(UTC) - timedelta(days=1)},
    )
    return World(police, code, proc, supervisor, case_id, device_id)


def add_circle_rule(
    settings: Settings,
    world: World,
    *,
    kind: str = "stay_inside",
    radius_m: float = 1000.0,
    grace: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> int:
    """A circle zone around ``HOME`` and a rule of ``kind`` on it; returns the rule id."""
    zone = execute(
        settings,
        "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) "
        "VALUES (%(u)s, 'home', 'circle', %(g)s, %(r)s) RETURNING id",
        {
            "u": world.police_unit,
            "g": json.dumps({"type": "Point", "coordinates": list(HOME)}),
            "r": radius_m,
        },
    )
    return int(
        execute(
            settings,
            "INSERT INTO case_rules (case_id, kind, zone_id, grace, params) "
            "VALUES (%(c)s, %(k)s, %(z)s, %(g)s, %(p)s) RETURNING id",
            {
                "c": world.case_id,
                "k": kind,
                "z": zone,
                "g": json.dumps(grace or {"open_after_fixes": 1, "clear_after_fixes": 1}),
                "p": json.dumps(params or {}),
            },
        )
    )


def add_device_rule(
    settings: Settings,
    world: World,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    severity: str | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> int:
    """A device rule (no_signal, strap_open, battery_critical, power_off, impossible_speed) of
    the world's case; returns the rule id."""
    return int(
        execute(
            settings,
            "INSERT INTO case_rules (case_id, kind, params, severity, valid_from, valid_to) "
            "VALUES (%(c)s, %(k)s, %(p)s, %(s)s, %(f)s, %(t)s) RETURNING id",
            {
                "c": world.case_id, "k": kind, "p": json.dumps(params or {}), "s": severity,
                "f": valid_from, "t": valid_to,
            },
        )
    )  # fmt: skip
