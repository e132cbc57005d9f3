"""Apply the numbered SQL migrations in ``store/migrations`` with psycopg.

Files are ``NNNN_name.sql``, or ``NNNN_name.native.sql`` / ``NNNN_name.timescale.sql`` where the
schema differs between plain PostgreSQL (native daily partitions) and TimescaleDB (hypertable).
Each file runs in its own transaction and is recorded in ``schema_migrations``; re-running is a
no-op. A session advisory lock serialises concurrent runners (several processes starting at once).
Settings that migrations need (compression and retention days) are passed as ``bw.*`` GUCs.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import psycopg

from config.logs import configure_logging
from config.settings import PingStorageSettings, Settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_FILE_RE = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+?)(?:\.(?P<variant>native|timescale))?\.sql$"
)
_LOCK_KEY = 0x62776D67  # "bwmg"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    variant     text,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""
SELECT_APPLIED = "SELECT version, checksum FROM schema_migrations"
INSERT_APPLIED = (
    "INSERT INTO schema_migrations (version, name, variant, checksum) VALUES (%s, %s, %s, %s)"
)
SELECT_TIMESCALE_AVAILABLE = (
    "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
)
SELECT_RECORDED_VARIANT = (
    "SELECT variant FROM schema_migrations WHERE variant IS NOT NULL ORDER BY version LIMIT 1"
)
SET_GUC = "SELECT set_config(%s, %s, true)"


class Storage(StrEnum):
    """How ``pings`` is partitioned."""

    native = "native"
    timescale = "timescale"


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    variant: Storage | None
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migration files, sorted by version; unknown file names are an error."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if match is None:
            raise ValueError(f"migration file name not understood: {path.name}")
        variant = match["variant"]
        found.append(
            Migration(
                version=int(match["version"]),
                name=match["name"],
                variant=Storage(variant) if variant else None,
                path=path,
            )
        )
    return sorted(found, key=lambda m: (m.version, m.variant or ""))


def plan(migrations: list[Migration], storage: Storage) -> list[Migration]:
    """The migrations that apply to ``storage``: one per version, variant files filtered."""
    chosen: dict[int, Migration] = {}
    for m in migrations:
        if m.variant is not None and m.variant is not storage:
            continue
        if m.version in chosen:
            raise ValueError(f"two migrations with version {m.version:04d}")
        chosen[m.version] = m
    return [chosen[v] for v in sorted(chosen)]


def _gucs(pings: PingStorageSettings) -> dict[str, str]:
    return {
        "bw.compress_after_days": str(pings.compress_after_days),
        "bw.retention_days": str(pings.retention_days),
        "bw.partitions_ahead_days": str(pings.partitions_ahead_days),
    }


def choose_storage(conn: psycopg.Connection, prefer: str) -> Storage:
    """The recorded storage if migrations ran before, else TimescaleDB when available."""
    conn.execute(CREATE_TABLE)
    row = conn.execute(SELECT_RECORDED_VARIANT).fetchone()
    if row is not None:
        return Storage(row[0])
    if prefer == "native":
        return Storage.native
    available = conn.execute(SELECT_TIMESCALE_AVAILABLE).fetchone()
    has_timescale = bool(available and available[0])
    if prefer == "timescale" and not has_timescale:
        raise RuntimeError(
            "BW_DB__STORAGE=timescale but the timescaledb extension is not available"
        )
    return Storage.timescale if has_timescale else Storage.native


def migrate(dsn: str, pings: PingStorageSettings, *, prefer: str = "auto") -> list[Migration]:
    """Apply pending migrations; returns those applied now (empty when up to date)."""
    applied_now: list[Migration] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
        try:
            storage = choose_storage(conn, prefer)
            done: dict[int, str] = dict(conn.execute(SELECT_APPLIED).fetchall())
            for m in plan(discover(), storage):
                if m.version in done:
                    if done[m.version] != m.checksum:
                        log.warning(
                            "migration changed after it was applied",
                            extra={"version": m.version, "migration": m.name},
                        )
                    continue
                with conn.transaction():
                    for key, value in _gucs(pings).items():
                        conn.execute(SET_GUC, [key, value])
                    conn.execute(m.sql.encode())
                    conn.execute(
                        INSERT_APPLIED,
                        [m.version, m.name, m.variant.value if m.variant else None, m.checksum],
                    )
                log.info("migration applied", extra={"version": m.version, "migration": m.name})
                applied_now.append(m)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    return applied_now


def wait_for_database(dsn: str, *, timeout_s: float) -> None:
    """Block until PostgreSQL accepts connections, or raise after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    """``python -m store.migrate [--wait SECONDS]``: wait for the database, then migrate."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the database")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level)
    dsn = settings.db.dsn()
    wait_for_database(dsn, timeout_s=args.wait)
    applied = migrate(dsn, settings.pings, prefer=settings.db.storage)
    print(f"migrations: {len(applied)} applied, schema up to date")


if __name__ == "__main__":
    main()
