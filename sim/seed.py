"""``python -m sim.seed``: write the demo scenario into the database, idempotently.

Run it any number of times: rows are upserted on natural keys (see ``store.seed``), so a second run
leaves the same rows. Passwords are argon2id hashes of the demo passwords; an existing hash that
still verifies is kept, so re-seeding does not churn them. Migrations are applied first (a no-op
when up to date). The demo logins are printed: this is for a local demo and refuses to run with
``BW_ENVIRONMENT=production``.

    python -m sim.seed [--devices N] [--seed S] [--no-migrate]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from broker.provision import admin_for, provision_device
from config.logs import configure_logging
from config.settings import PLACEHOLDERS_ALLOWED, Settings
from sim.credentials import credentials_path, read_device_credentials, write_device_credentials
from sim.scenario import ROOT, Scenario, ZoneSpec, build_scenario, load_boundaries
from store import seed as sql
from store.migrate import migrate
from store.pool import open_pool

DEVICE_MODEL = "BW-W1 demo watch"
DEVICE_FIRMWARE = "1.4.2"


@dataclass(frozen=True)
class SeedSummary:
    """Row counts of the seeded tables after the seed, and the scenario that was written."""

    counts: dict[str, int]
    scenario: Scenario
    #: Watches whose MQTT credentials were issued by this run.
    credentials_issued: int = 0


def zone_row(zone: ZoneSpec, scenario: Scenario) -> tuple[Any, ...]:
    """Parameters of ``store.seed.UPSERT_ZONE`` for one zone."""
    if zone.adcode is not None:
        b = scenario.boundaries[zone.adcode]
        props = {"adcode": b.adcode, "name": b.name, "name_en": b.name_en, "level": b.level}
        return (
            zone.unit_code, zone.name, "polygon", b.geometry, None, b.source_datum,
            {"dataset": b.source}, props,
        )  # fmt: skip
    assert zone.centre is not None
    point = {"type": "Point", "coordinates": [zone.centre[0], zone.centre[1]]}
    props = {"purpose": zone.purpose, "address": zone.address}
    return (zone.unit_code, zone.name, "circle", point, zone.radius_m, "wgs84", None, props)


def _password_hash(hasher: PasswordHasher, existing: str | None, password: str) -> str:
    if existing:
        try:
            if hasher.verify(existing, password) and not hasher.check_needs_rehash(existing):
                return existing
        except (VerificationError, InvalidHashError):
            pass
    return hasher.hash(password)


async def write_scenario(
    conn: asyncpg.Connection, scenario: Scenario, *, now: datetime
) -> dict[str, int]:
    """Upsert ``scenario`` in one transaction; returns the seeded tables' row counts."""
    hasher = PasswordHasher()
    async with conn.transaction():
        await conn.execute(sql.LOCK)
        for u in scenario.units:
            await conn.execute(sql.UPSERT_UNIT, u.code, u.name, u.kind, u.parent_code)
        for user in scenario.users:
            existing = await conn.fetchval(sql.SELECT_PASSWORD_HASH, user.username)
            pw_hash = _password_hash(hasher, existing, user.password)
            await conn.execute(
                sql.UPSERT_USER,
                user.username,
                user.display_name,
                user.role,
                user.unit_code,
                pw_hash,
            )
        await conn.executemany(
            sql.UPSERT_CASE,
            [
                (
                    c.case_number,
                    c.person.full_name,
                    c.person.birth_date,
                    c.person.phone,
                    c.person.address,
                    c.measure,
                    c.supervising_unit,
                    c.procuratorate_unit,
                    c.prosecutor,
                    c.period[0],
                    c.period[1],
                    "Asia/Shanghai",
                    c.conditions,
                )
                for c in scenario.cases
            ],
        )
        await conn.executemany(sql.UPSERT_ZONE, [zone_row(z, scenario) for z in scenario.zones])
        await conn.executemany(
            sql.UPSERT_RULE,
            [
                (
                    c.case_number,
                    r.name,
                    r.kind,
                    r.zone.unit_code,
                    r.zone.name,
                    r.grace,
                    r.schedule,
                    {"name": r.name},
                    r.severity,
                )
                for c in scenario.cases
                for r in c.rules
            ],
        )
        await conn.executemany(
            sql.UPSERT_DEVICE, [(d, DEVICE_MODEL, DEVICE_FIRMWARE) for d in scenario.device_ids]
        )
        pairs = [(c.device_id, c.case_number, now) for c in scenario.cases]
        await conn.executemany(sql.CLOSE_STALE_ASSIGNMENTS, pairs)
        await conn.executemany(sql.INSERT_ASSIGNMENT, pairs)
        rows = await conn.fetch(sql.COUNT_ROWS)
    return {r["table_name"]: int(r["n"]) for r in rows}


async def provision_demo_devices(
    settings: Settings, conn: asyncpg.Connection, device_ids: list[str]
) -> int:
    """Give every demo watch its own MQTT credentials, kept in the run dir for the simulator.

    Watches already listed in the credentials file keep theirs; the others are provisioned (or
    re-issued: a password is shown only once, so a lost one is rotated). Returns how many were
    issued now. Does nothing when no broker admin login is configured (anonymous broker).
    """
    if not settings.mqtt.admin_username:
        return 0
    path = credentials_path(settings)
    known = read_device_credentials(path) or {}
    missing = [d for d in device_ids if d not in known]
    if not missing:
        return 0
    creds = {
        d: (c.username, c.password)
        for d, c in known.items()
        if c.username is not None and c.password is not None
    }
    with admin_for(settings.mqtt) as admin:
        for device_id in missing:
            issued = await provision_device(device_id, conn=conn, admin=admin, rotate=True)
            creds[device_id] = (issued.username, issued.password)
    write_device_credentials(path, creds)
    return len(missing)


async def seed(settings: Settings, *, devices: int, seed: int = 7) -> SeedSummary:
    """Build the scenario (``devices`` watches), write it to the settings' database, and
    provision the watches' MQTT credentials (see :func:`provision_demo_devices`)."""
    path = Path(settings.sim.boundaries_path)
    boundaries = load_boundaries(path if path.is_absolute() else ROOT / path)
    scenario = build_scenario(boundaries, devices=devices, seed=seed)
    async with (
        open_pool(settings.db, application_name="bailwatch-seed") as pool,
        pool.acquire() as conn,
    ):
        counts = await write_scenario(conn, scenario, now=datetime.now(UTC))
        issued = await provision_demo_devices(settings, conn, [c.device_id for c in scenario.cases])
    return SeedSummary(counts, scenario, issued)


def format_summary(summary: SeedSummary) -> str:
    """Human summary: row counts, the demo logins (with passwords) and the three main cases."""
    sc = summary.scenario
    lines = [
        "bailwatch demo seed",
        "  rows: " + ", ".join(f"{k} {v}" for k, v in summary.counts.items()),
        f"  watch MQTT credentials issued now: {summary.credentials_issued}",
    ]
    lines.append("  demo logins (local demo only):")
    for u in sc.users:
        lines.append(f"    {u.username:<16} {u.password:<18} {u.role:<11} {u.unit_code}")
    lines.append("  cases:")
    for c in sc.cases[:3]:
        rules = "; ".join(f"{r.kind} {r.zone.name}" for r in c.rules)
        lines.append(f"    {c.case_number} {c.measure} {c.person.full_name} {c.device_id}: {rules}")
    if len(sc.cases) > 3:
        lines.append(f"    ... and {len(sc.cases) - 3} background cases (stay inside their county)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    configure_logging(settings.log_level)
    p = argparse.ArgumentParser(prog="python -m sim.seed", description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=settings.sim.devices, help="watches (>= 3)")
    p.add_argument("--seed", type=int, default=settings.sim.seed, help="random seed")
    p.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    args = p.parse_args(argv)
    if settings.environment not in PLACEHOLDERS_ALLOWED:
        print(
            f"refusing to seed demo users with known passwords in {settings.environment}",
            file=sys.stderr,
        )
        return 2
    if not args.no_migrate:
        migrate(settings.db.dsn(), settings.pings, prefer=settings.db.storage)
    summary = asyncio.run(seed(settings, devices=max(3, args.devices), seed=args.seed))
    print(format_summary(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
