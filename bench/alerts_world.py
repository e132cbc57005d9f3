"""The database side of ``bench.alerts``: the simulator's scenario, the bench's own unit, cases
and rules, and the waits that start the measurement on a system in its steady state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from config.settings import Settings
from store.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
HOME = (118.6749, 37.4340)
AWAY = (118.6767, 37.4340)  # 160 m east: outside, and a plausible walk between fixes
NO_SIGNAL_LIMIT_S = 10
#: The ingester keeps up when the newest contact it stored is at most this old (seconds).
CAUGHT_UP_S = 0.3


def prepare_database(settings: Settings, devices: int) -> None:
    """A new, migrated database holding the simulator's scenario of ``devices`` watches."""
    with psycopg.connect(settings.db.dsn(database="postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{settings.db.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{settings.db.name}"')
    migrate(settings.db.dsn(), settings.pings, prefer="native")
    env = {**os.environ, **settings.to_env()}
    subprocess.run(
        [sys.executable, "-m", "sim.seed", "--devices", str(devices), "--no-migrate"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def bench_world(
    settings: Settings, violators: int, silent: int
) -> tuple[int, list[str], list[str]]:
    """The bench unit, its supervisor, its cases; returns (supervisor, violators, silent)."""
    tag = uuid.uuid4().hex[:6]
    code = f"BENCH-{tag}"
    movers = [f"bv{tag}{i:02d}" for i in range(violators)]
    quiet = [f"bs{tag}{i:02d}" for i in range(silent)]
    since = datetime.now(UTC) - timedelta(hours=1)
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        unit = conn.execute(
            "INSERT INTO units (code, name, kind) VALUES (%s, 'Bench station', 'police') "
            "RETURNING id", [code],
        ).fetchone()[0]  # type: ignore[index]  # fmt: skip
        user = conn.execute(
            "INSERT INTO users (username, display_name, role, unit_id) "
            "VALUES (%s, 'Bench', 'supervisor', %s) RETURNING id", [f"bench-{tag}", unit],
        ).fetchone()[0]  # type: ignore[index]  # fmt: skip
        zone = conn.execute(
            "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) "
            "VALUES (%s, 'home', 'circle', %s, 60) RETURNING id",
            [unit, json.dumps({"type": "Point", "coordinates": list(HOME)})],
        ).fetchone()[0]  # type: ignore[index]
        for device in movers + quiet:
            limit = NO_SIGNAL_LIMIT_S if device in quiet else 86_400
            person = conn.execute(
                "INSERT INTO persons (full_name) VALUES (%s) RETURNING id", [device]
            ).fetchone()[0]  # type: ignore[index]
            case = conn.execute(
                "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id, "
                "no_signal_limit_s) VALUES (%s, %s, 'bail', 'active', %s, %s) RETURNING id",
                [f"B-{device}", person, unit, limit],
            ).fetchone()[0]  # type: ignore[index]
            conn.execute("INSERT INTO devices (id) VALUES (%s)", [device])
            conn.execute(
                "INSERT INTO device_assignments (device_id, case_id, valid_from) "
                "VALUES (%s, %s, %s)", [device, case, since],
            )  # fmt: skip
            if device in movers:
                conn.execute(
                    "INSERT INTO case_rules (case_id, kind, zone_id, grace) "
                    "VALUES (%s, 'stay_inside', %s, %s)",
                    [case, zone, json.dumps({"open_after_fixes": 1, "open_after_s": 0,
                                             "clear_after_fixes": 1, "clear_after_s": 0})],
                )  # fmt: skip
    return int(user), movers, quiet


def wait_stored(settings: Settings, devices: list[str], timeout_s: float = 120) -> float:
    """Seconds until every one of ``devices`` has a stored fix (the ingester is consuming)."""
    started = time.monotonic()
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        while time.monotonic() - started < timeout_s:
            row = conn.execute(
                "SELECT count(*) FROM device_status WHERE device_id = ANY(%s) "
                "AND last_fix_time IS NOT NULL", [devices],
            ).fetchone()  # fmt: skip
            if row is not None and row[0] == len(devices):
                return time.monotonic() - started
            time.sleep(0.2)
    raise TimeoutError(f"fixes of {devices} not stored within {timeout_s} s")


def wait_steady(settings: Settings, warmup_s: float, timeout_s: float = 120) -> float:
    """Seconds until ``warmup_s`` passed and the ingester keeps up with the background (the newest
    contact it stored is under ``CAUGHT_UP_S`` old)."""
    started = time.monotonic()
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        while time.monotonic() - started < timeout_s:
            row = conn.execute(
                "SELECT extract(epoch FROM clock_timestamp() - max(last_seen_at)) "
                "FROM device_status"
            ).fetchone()
            waited = time.monotonic() - started
            lag = None if row is None or row[0] is None else float(row[0])
            if waited >= warmup_s and lag is not None and lag < CAUGHT_UP_S:
                return waited
            time.sleep(0.2)
    raise TimeoutError(f"the ingester did not keep up within {timeout_s} s")
