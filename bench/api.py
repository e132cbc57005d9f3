"""``python -m bench.api``: latency of the track, CSV export and compliance endpoints on a case with
30 days of fixes at one per minute (43,200), and of the compliance report (JSON and PDF) over the
whole period of a 12-month case (525,600 fixes, 40 alerts, 6 permits, see ``bench.api_year``),
served in-process (ASGI) against the real database.

Creates (and drops) its own database on the configured server. Prints p50/p95 per endpoint; the
last line is one JSON object with track_p95_s, csv_p95_s, compliance_p95_s,
compliance_12m_p95_s and pdf_p95_s. Targets: track p95 < 0.15 s, compliance p95 < 0.5 s,
12-month compliance p95 < 1 s, 12-month PDF p95 < 5 s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import psycopg
from argon2 import PasswordHasher
from psycopg.types.json import Jsonb

from api.app import create_app
from bench import api_year
from config.runtime import settle_gc
from config.settings import Settings
from store.migrate import migrate

DB = "bw_bench_api"
FIXES = 30 * 24 * 60
RUNS = 20
#: Timed PDF renderings (each about a second or two: fewer runs, same p95 estimate).
PDF_RUNS = 10
#: Untimed requests per endpoint first, so the figures are of a warm server (connection pool,
#: compiled zones, page cache), as the API is in service.
WARMUP = 2
START = datetime(2026, 10, 1, tzinfo=UTC)
LON, LAT = 118.50, 37.45


def _setup(settings: Settings) -> tuple[int, int]:
    admin = settings.db.dsn(database="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    dsn = settings.db.dsn(database=DB)
    migrate(dsn, settings.pings, prefer="native")
    rng = np.random.default_rng(7)
    lon = LON + np.cumsum(rng.normal(0, 2e-5, FIXES))
    lat = LAT + np.cumsum(rng.normal(0, 2e-5, FIXES))
    with psycopg.connect(dsn, autocommit=True) as conn:
        unit = conn.execute(
            "INSERT INTO units (code, name, kind) VALUES ('B', 'B', 'police') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO users (username, display_name, role, unit_id, password_hash) "
            "VALUES ('bench', 'Bench', 'police', %s, %s)",
            (unit, PasswordHasher().hash("bench-pw")),
        )
        person = conn.execute(
            "INSERT INTO persons (full_name) VALUES ('B') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        case = conn.execute(
            "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id) "
            "VALUES ('BENCH-1', %s, 'bail', 'active', %s) RETURNING id",
            (person, unit),
        ).fetchone()[0]  # type: ignore[index]
        ring = [
            [LON - 0.3, LAT - 0.3],
            [LON + 0.3, LAT - 0.3],
            [LON + 0.3, LAT + 0.3],
            [LON - 0.3, LAT + 0.3],
            [LON - 0.3, LAT - 0.3],
        ]
        zone = conn.execute(
            "INSERT INTO zones (unit_id, name, kind, geometry) "
            "VALUES (%s, 'city', 'polygon', %s) RETURNING id",
            (unit, Jsonb({"type": "Polygon", "coordinates": [ring]})),
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO case_rules (case_id, kind, zone_id) VALUES (%s, 'stay_inside', %s)",
            (case, zone),
        )
        conn.execute("INSERT INTO devices (id) VALUES ('BW-1')")
        conn.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) "
            "VALUES ('BW-1', %s, %s)",
            (case, START - timedelta(days=1)),
        )
        conn.execute(
            "SELECT bw_ensure_ping_partitions(%s, %s)",
            (START.date(), (START + timedelta(days=31)).date()),
        )
        with conn.cursor().copy(
            "COPY pings (device_id, fix_time, seq, case_id, received_at, lon, lat, acc, src) "
            "FROM STDIN"
        ) as copy:
            for i in range(FIXES):
                t = START + timedelta(minutes=i)
                copy.write_row(("BW-1", t, i, case, t, float(lon[i]), float(lat[i]), 10.0, "gnss"))
        year = api_year.seed(conn, unit)
        # A real 30-day track sits in partitions autovacuum has long since visited; vacuum so the
        # covering index serves index-only scans as it would there (visibility map set).
        conn.execute("VACUUM (ANALYZE)")
    return int(case), year


async def _time(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], runs: int = RUNS
) -> list[float]:
    for _ in range(WARMUP):
        (await client.get(url, headers=headers)).raise_for_status()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = await client.get(url, headers=headers)
        _ = r.content
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    return out


def _p(values: list[float], q: float) -> float:
    return float(np.quantile(values, q))


async def _run(settings: Settings, case: int, year: int) -> dict[str, float]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):
        tok = (
            await client.post("/auth/token", data={"username": "bench", "password": "bench-pw"})
        ).json()
        headers = {"Authorization": f"Bearer {tok['access_token']}"}
        settle_gc()  # as ``python -m api`` does once the app is loaded
        end = START + timedelta(days=30)
        rng = f"from={START.isoformat()}&to={end.isoformat()}&purpose=benchmark+run"
        rng = rng.replace("+00:00", "Z")
        whole = f"from={api_year.START.isoformat()}&to={api_year.END.isoformat()}"
        whole = whole.replace("+00:00", "Z") + "&purpose=benchmark+run"
        results = {}
        for name, url, runs in (
            ("track", f"/cases/{case}/track?{rng}&simplify=25", RUNS),
            ("csv", f"/cases/{case}/track.csv?{rng}", RUNS),
            ("compliance", f"/cases/{case}/compliance?{rng}", RUNS),
            ("compliance_12m", f"/cases/{year}/compliance?{whole}", RUNS),
            ("pdf", f"/cases/{year}/compliance.pdf?{whole}", PDF_RUNS),
        ):
            times = await _time(client, url, headers, runs)
            print(
                f"{name:<14} p50 {_p(times, 0.5):.3f} s  p95 {_p(times, 0.95):.3f} s  "
                f"(mean {statistics.fmean(times):.3f} s, {runs} runs)"
            )
            results[f"{name}_p95_s"] = round(_p(times, 0.95), 4)
        return results


def main() -> None:
    base = Settings()
    case, year = _setup(base)
    settings = base.model_copy(update={"db": base.db.model_copy(update={"name": DB})})
    print(
        f"bench.api: case with {FIXES} fixes (30 days at 1/min); 12-month case with "
        f"{api_year.FIXES} fixes, {api_year.ALERTS} alerts, {api_year.PERMITS} permits"
    )
    try:
        results = asyncio.run(_run(settings, case, year))
    finally:
        with psycopg.connect(base.db.dsn(database="postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    print(json.dumps(results))


if __name__ == "__main__":
    main()
