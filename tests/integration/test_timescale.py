"""The TimescaleDB variant of the schema, against PGlite+TimescaleDB served over the wire protocol.

Debian has no TimescaleDB package, so these tests start ``deploy/pglite`` (PGlite 0.3.14 with
TimescaleDB 2.23, Node) on a free port for this module only; see ``timescale_server.py``. PGlite
serves one connection at a time, so every test opens and closes its own connection. It runs no
background workers: policy jobs are run by hand with ``CALL run_job(id)``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest

from config.settings import PingStorageSettings
from store import pings
from store.migrate import Storage, discover, migrate, plan
from tests.integration.timescale_server import PgliteServer, run_pglite

pytestmark = pytest.mark.timescale

SETTINGS = PingStorageSettings(compress_after_days=3, retention_days=90)
DEVICE = "ts-watch-1"
UTC = dt.UTC

#: Recent fixes: minutes after ``base`` (two hours ago, on the hour), inserted out of order.
RECENT_MINUTES = (70, 0, 20, 10, 80)
#: Old fixes, days before ``base``: compressed (20) and dropped by retention (200).
OLD_DAYS = (20, 200)


@pytest.fixture(scope="module")
def pglite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgliteServer]:
    with run_pglite(Path(tmp_path_factory.mktemp("pglite"))) as server:
        yield server


@pytest.fixture(scope="module")
def applied(pglite: PgliteServer) -> list[str]:
    """The migrations applied by the first ``migrate()`` on the empty PGlite database."""
    return [f"{m.version:04d}_{m.name}" for m in migrate(pglite.dsn, SETTINGS)]


@pytest.fixture(scope="module")
def base() -> dt.datetime:
    """Two hours ago, truncated to the hour: recent fixes fall in two complete hours."""
    now = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - dt.timedelta(hours=2)


async def _connect(server: PgliteServer) -> asyncpg.Connection:
    # asyncpg would try SSL first; PGlite does not answer the SSL request properly.
    return await asyncpg.connect(
        host=server.host,
        port=server.port,
        user="postgres",
        password="postgres",
        database="postgres",
        ssl=False,
    )


@pytest.fixture
async def conn(pglite: PgliteServer, applied: list[str]) -> AsyncIterator[asyncpg.Connection]:
    c = await _connect(pglite)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture(scope="module")
async def case_id(pglite: PgliteServer, applied: list[str]) -> int:
    """A unit, person, case, device and an open assignment since a year ago."""
    c = await _connect(pglite)
    try:
        unit = await c.fetchval(
            "INSERT INTO units (code, name, kind) VALUES ('ts-unit', 'TS unit', 'police') "
            "RETURNING id"
        )
        person = await c.fetchval(
            "INSERT INTO persons (full_name) VALUES ('TS Person') RETURNING id"
        )
        case = await c.fetchval(
            "INSERT INTO cases (case_number, person_id, measure, supervising_unit_id) "
            "VALUES ('TS-2024-001', $1, 'bail', $2) RETURNING id",
            person,
            unit,
        )
        await c.execute("INSERT INTO devices (id) VALUES ($1)", DEVICE)
        await c.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) VALUES ($1, $2, $3)",
            DEVICE,
            case,
            dt.datetime.now(UTC) - dt.timedelta(days=365),
        )
        assert isinstance(case, int)
        return case
    finally:
        await c.close()


def _fixes(times: list[dt.datetime], first_seq: int) -> list[list[Any]]:
    """Arrays in ``PING_COLUMNS`` order for ``INSERT_ARRAYS``."""
    n = len(times)
    return [
        [DEVICE] * n,
        times,
        list(range(first_seq, first_seq + n)),
        [t + dt.timedelta(seconds=3) for t in times],
        [116.3 + i * 0.001 for i in range(n)],
        [39.9 + i * 0.001 for i in range(n)],
        [8.0] * n,
        ["gnss"] * n,
        [50.0] * n,
        [1.2] * n,
        [90.0] * n,
        [80] * n,
        [9] * n,
    ]


async def _insert(c: asyncpg.Connection, arrays: list[list[Any]]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await c.fetch(pings.INSERT_ARRAYS, *arrays)
    return rows


def _recent_times(base: dt.datetime) -> list[dt.datetime]:
    return [base + dt.timedelta(minutes=m) for m in RECENT_MINUTES]


def _old_times(base: dt.datetime, days: int) -> list[dt.datetime]:
    start = base - dt.timedelta(days=days)
    return [start + dt.timedelta(minutes=m) for m in (0, 5, 10)]


async def _job_id(c: asyncpg.Connection, proc_name: str, table: str) -> int:
    job: int | None = await c.fetchval(
        "SELECT job_id FROM timescaledb_information.jobs "
        "WHERE proc_name = $1 AND hypertable_name = $2",
        proc_name,
        table,
    )
    assert job is not None, f"no {proc_name} job on {table}"
    return job


async def _chunks(c: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await c.fetch(
        "SELECT chunk_name, range_start, range_end, is_compressed "
        "FROM timescaledb_information.chunks WHERE hypertable_name = 'pings' "
        "ORDER BY range_start"
    )
    return rows


async def _materialized_rows(c: asyncpg.Connection) -> int:
    table = await c.fetchval(
        "SELECT format('%I.%I', materialization_hypertable_schema, "
        "materialization_hypertable_name) FROM timescaledb_information.continuous_aggregates "
        "WHERE view_name = 'pings_hourly'"
    )
    n: int = await c.fetchval(f"SELECT count(*) FROM {table}")
    return n


async def _hourly(c: asyncpg.Connection, times: list[dt.datetime]) -> list[tuple[dt.datetime, int]]:
    """``SELECT_HOURLY_COUNTS`` of ``DEVICE`` around ``times``."""
    window = (times[0] - dt.timedelta(hours=2), times[-1] + dt.timedelta(hours=2))
    rows = await c.fetch(pings.SELECT_HOURLY_COUNTS, DEVICE, *window)
    return [(r["bucket"], r["n"]) for r in rows]


def _chunk_holding(chunks: list[asyncpg.Record], t: dt.datetime) -> asyncpg.Record | None:
    return next((ch for ch in chunks if ch["range_start"] <= t < ch["range_end"]), None)


# --- 1. migrations -------------------------------------------------------------------------------


def test_migrate_chooses_timescale_variant_once(pglite: PgliteServer, applied: list[str]) -> None:
    expected = [f"{m.version:04d}_{m.name}" for m in plan(discover(), Storage.timescale)]
    assert applied == expected
    assert "0002_pings" in applied
    with psycopg.connect(pglite.dsn) as c:
        rows = c.execute("SELECT version, variant FROM schema_migrations ORDER BY version")
        recorded: dict[int, str | None] = dict(rows.fetchall())
        assert recorded[2] == "timescale"
        assert set(recorded.values()) <= {None, "timescale"}
        assert len(recorded) == len(expected)
        ext = c.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        assert ext.fetchone() is not None
    assert migrate(pglite.dsn, SETTINGS) == []


# --- 2. hypertable, compression, policies, continuous aggregate ----------------------------------


async def test_hypertable_compression_policies_and_cagg(conn: asyncpg.Connection) -> None:
    dim = await conn.fetchrow(
        "SELECT column_name, time_interval FROM timescaledb_information.dimensions "
        "WHERE hypertable_name = 'pings'"
    )
    assert dim is not None
    assert (dim["column_name"], dim["time_interval"]) == ("fix_time", dt.timedelta(days=1))

    # TimescaleDB 2.23 has both views; hypertable_compression_settings is the per-table one.
    settings = await conn.fetchrow(
        "SELECT segmentby, orderby FROM timescaledb_information.hypertable_compression_settings "
        "WHERE hypertable = 'pings'::regclass"
    )
    assert settings is not None
    assert settings["segmentby"] == "device_id"
    assert settings["orderby"] == "fix_time DESC,seq DESC"
    compressed = await conn.fetchval(
        "SELECT compression_enabled FROM timescaledb_information.hypertables "
        "WHERE hypertable_name = 'pings'"
    )
    assert compressed is True

    jobs = {
        (r["hypertable_name"], r["proc_name"]): json.loads(r["config"])
        for r in await conn.fetch(
            "SELECT proc_name, config::text AS config, hypertable_name "
            "FROM timescaledb_information.jobs WHERE hypertable_name IN ('pings', 'pings_hourly')"
        )
    }
    assert set(jobs) == {
        ("pings", "policy_compression"),
        ("pings", "policy_retention"),
        ("pings_hourly", "policy_refresh_continuous_aggregate"),
        ("pings_hourly", "policy_retention"),
    }
    assert jobs["pings", "policy_compression"]["compress_after"] == "3 days"
    assert jobs["pings", "policy_retention"]["drop_after"] == "90 days"
    assert jobs["pings_hourly", "policy_retention"]["drop_after"] == "90 days"
    refresh = jobs["pings_hourly", "policy_refresh_continuous_aggregate"]
    assert refresh["start_offset"] is None  # late fixes of any age get materialized
    assert refresh["end_offset"] == "01:00:00"

    cagg = await conn.fetchrow(
        "SELECT materialized_only FROM timescaledb_information.continuous_aggregates "
        "WHERE view_name = 'pings_hourly'"
    )
    assert cagg is not None
    assert cagg["materialized_only"] is False
    assert await conn.fetchval(pings.SELECT_STORAGE) == "timescaledb"
    # Parity functions of the native variant are no-ops here.
    assert (
        await conn.fetchval(pings.ENSURE_PARTITIONS, dt.date(2024, 1, 1), dt.date(2024, 1, 9)) == 0
    )
    assert await conn.fetch(pings.DROP_OLD_PARTITIONS, 1) == []


# --- 3. the shared queries -----------------------------------------------------------------------


async def test_insert_exactly_once_and_shared_reads(
    conn: asyncpg.Connection, case_id: int, base: dt.datetime
) -> None:
    times = _recent_times(base)
    batch = _fixes(times, first_seq=1)
    rows = await _insert(conn, batch)
    assert sorted((r["fix_time"], r["seq"]) for r in rows) == sorted(
        zip(times, range(1, 6), strict=True)
    )
    assert {r["case_id"] for r in rows} == {case_id}
    assert await _insert(conn, batch) == []  # redelivery: stored once

    window = (base - dt.timedelta(hours=1), base + dt.timedelta(hours=3))
    track = await conn.fetch(pings.SELECT_TRACK, case_id, *window)
    assert [r["fix_time"] for r in track] == sorted(times)
    assert {r["device_id"] for r in track} == {DEVICE}
    assert track[0]["src"] == "gnss"

    hour = dt.timedelta(hours=1)
    expected = [(base, 3), (base + hour, 2)]  # minutes 0, 10, 20 and 70, 80
    coverage = await conn.fetch(pings.SELECT_CASE_COVERAGE, case_id, *window)
    assert [(r["bucket"], r["n"]) for r in coverage] == expected

    # Nothing materialized yet: the counts come from real-time aggregation over raw chunks.
    assert await _materialized_rows(conn) == 0
    hourly = await conn.fetch(pings.SELECT_HOURLY_COUNTS, DEVICE, *window)
    assert [(r["bucket"], r["n"]) for r in hourly] == expected
    # Materialized (refresh policy work done by hand): the same counts.
    await conn.execute("CALL refresh_continuous_aggregate('pings_hourly', NULL, NULL)")
    assert await _materialized_rows(conn) == len(expected)
    hourly = await conn.fetch(pings.SELECT_HOURLY_COUNTS, DEVICE, *window)
    assert [(r["bucket"], r["n"]) for r in hourly] == expected

    assert await conn.fetchval(pings.SELECT_STORAGE) == "timescaledb"


# --- 4. compression and retention policies, run by hand ------------------------------------------


async def test_compression_and_retention_jobs(
    conn: asyncpg.Connection, case_id: int, base: dt.datetime
) -> None:
    old = {days: _old_times(base, days) for days in OLD_DAYS}
    for i, days in enumerate(OLD_DAYS):
        rows = await _insert(conn, _fixes(old[days], first_seq=1000 * (i + 1)))
        assert len(rows) == len(old[days])
        assert {r["case_id"] for r in rows} == {case_id}

    # Late fixes below the materialization watermark: the refresh policy (no start_offset)
    # materializes them, so hourly counts match the native view.
    refresh_job = await _job_id(conn, "policy_refresh_continuous_aggregate", "pings_hourly")
    await conn.execute(f"CALL run_job({refresh_job})")
    for days in OLD_DAYS:
        assert await _hourly(conn, old[days]) == [(old[days][0].replace(minute=0), 3)]

    await conn.execute(f"CALL run_job({await _job_id(conn, 'policy_compression', 'pings')})")
    chunks = await _chunks(conn)
    for days in OLD_DAYS:
        chunk = _chunk_holding(chunks, old[days][0])
        assert chunk is not None
        assert chunk["is_compressed"], f"chunk {days} days old not compressed"
    recent = _chunk_holding(chunks, base)
    assert recent is not None
    assert not recent["is_compressed"]
    stats = await conn.fetchval(
        "SELECT count(*) FROM chunk_compression_stats('pings') "
        "WHERE compression_status = 'Compressed'"
    )
    assert stats == len(OLD_DAYS)

    # Compressed data reads back through the shared query.
    d20 = old[20]
    window20 = (d20[0] - dt.timedelta(hours=1), d20[-1] + dt.timedelta(hours=1))
    track = await conn.fetch(pings.SELECT_TRACK, case_id, *window20)
    assert [(r["fix_time"], r["seq"]) for r in track] == list(
        zip(d20, range(1000, 1003), strict=True)
    )
    # Late redelivery into a compressed chunk is still stored once; a new late fix is stored.
    assert await _insert(conn, _fixes(d20, first_seq=1000)) == []
    late = [d20[-1] + dt.timedelta(minutes=5)]
    assert len(await _insert(conn, _fixes(late, first_seq=1003))) == 1
    track = await conn.fetch(pings.SELECT_TRACK, case_id, *window20)
    assert [r["fix_time"] for r in track] == [*d20, *late]

    await conn.execute(f"CALL run_job({await _job_id(conn, 'policy_retention', 'pings')})")
    chunks = await _chunks(conn)
    assert _chunk_holding(chunks, old[200][0]) is None, "200-day-old chunk not dropped"
    assert _chunk_holding(chunks, d20[0]) is not None
    d200 = old[200]
    window200 = (d200[0] - dt.timedelta(hours=1), d200[-1] + dt.timedelta(hours=1))
    assert await conn.fetch(pings.SELECT_TRACK, case_id, *window200) == []
    assert len(await conn.fetch(pings.SELECT_TRACK, case_id, *window20)) == 4
    # The materialized counts of the dropped days expire with the cagg's retention policy.
    assert await _hourly(conn, d200) == [(d200[0].replace(minute=0), 3)]
    await conn.execute(f"CALL run_job({await _job_id(conn, 'policy_retention', 'pings_hourly')})")
    assert await _hourly(conn, d200) == []
    await conn.execute(f"CALL run_job({refresh_job})")
    assert await _hourly(conn, d200) == []
    assert await _hourly(conn, d20) == [(d20[0].replace(minute=0), 3 + len(late))]


async def test_batch_larger_than_one_socket_read(conn: asyncpg.Connection, case_id: int) -> None:
    """A 2000-fix batch (~200 KB message) arrives in several TCP reads; server.mjs reassembles."""
    start = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(days=1, hours=1)
    times = [start + dt.timedelta(seconds=i) for i in range(2000)]
    rows = await _insert(conn, _fixes(times, first_seq=100_000))
    assert len(rows) == 2000
    assert {r["case_id"] for r in rows} == {case_id}
    end = times[-1] + dt.timedelta(seconds=1)
    track = await conn.fetch(pings.SELECT_TRACK, case_id, times[0], end)
    assert len(track) == 2000
