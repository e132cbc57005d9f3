"""Auditors read the access log; retention purges released cases' fixes unless on legal hold."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import asyncpg
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.retention import purge
from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration
Headers = Callable[[str], dict[str, str]]


def test_auditor_reads_access_log(client: TestClient, seeded: world.World, token: Headers) -> None:
    q = "from=2026-11-01T00:00:00Z&to=2026-11-01T01:00:00Z&purpose=audit+trail+test"
    for user in ("pros1", "police1"):
        r = client.get(f"/cases/{seeded.case_a}/track?{q}", headers=token(user))
        assert r.status_code == 200
    r = client.get(f"/access-log?case_id={seeded.case_a}&limit=1", headers=token("auditor"))
    assert r.status_code == 200
    page = r.json()
    assert page["items"][0]["purpose"] == "audit trail test"
    assert page["next_cursor"]
    nxt = client.get(
        f"/access-log?case_id={seeded.case_a}&cursor={page['next_cursor']}",
        headers=token("auditor"),
    )
    assert nxt.status_code == 200
    assert client.get("/access-log", headers=token("police1")).status_code == 403
    assert client.get("/access-log?cursor=%%%", headers=token("auditor")).status_code == 400


def test_release_then_retention_purge(settings: Settings) -> None:
    w = world.build(settings)
    lon, lat = world.CENTRE
    world.insert_fixes(
        settings,
        w.device,
        w.case_a,
        [(world.T0 + timedelta(minutes=i), lon, lat, 5.0) for i in range(10)],
    )
    world.insert_fixes(settings, "W-B", w.case_b, [(world.T0, lon, lat, 5.0)])
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        conn.execute(
            "UPDATE cases SET status = 'released', released_at = now() - interval '200 days'"
        )
        conn.execute("UPDATE cases SET legal_hold = true WHERE id = %s", (w.case_b,))

    async def run() -> list[int]:
        conn = await asyncpg.connect(settings.db.dsn())
        try:
            return [p.pings_deleted for p in await purge(conn=conn, retention_days=180)]
        finally:
            await conn.close()

    assert asyncio.run(run()) == [10]
    assert asyncio.run(run()) == []
    with psycopg.connect(settings.db.dsn()) as conn:
        left = conn.execute("SELECT case_id, count(*) FROM pings GROUP BY case_id").fetchall()
        logged = conn.execute("SELECT case_id, pings_deleted FROM purge_log").fetchall()
    assert left == [(w.case_b, 1)]
    assert logged == [(w.case_a, 10)]


def test_release_ends_assignment(client: TestClient, seeded: world.World, token: Headers) -> None:
    r = client.post(
        "/cases",
        headers=token("super1"),
        json={
            "case_number": "R-1",
            "person_id": seeded.person_a,
            "measure": "bail",
            "period_start": "2026-11-01",
            "period_end": "2027-10-31",
            "supervising_unit_id": seeded.units["P1"],
        },
    )
    assert r.status_code == 201, r.text
    case = r.json()["id"]
    url = f"/cases/{case}/status"
    assert (
        client.post(
            url, headers=token("super1"), json={"status": "active", "note": "watch fitted"}
        ).json()["status"]
        == "active"
    )
    released = client.post(
        url, headers=token("super1"), json={"status": "released", "note": "判决生效"}
    ).json()
    assert released["status"] == "released"
    assert released["released_at"]
    assert released["device_id"] is None
    again = client.post(url, headers=token("super1"), json={"status": "active", "note": "again"})
    assert again.status_code == 409
    dup = client.post(
        "/cases",
        headers=token("super1"),
        json={
            "case_number": "R-1",
            "person_id": seeded.person_a,
            "measure": "bail",
            "period_start": "2026-11-01",
            "period_end": "2027-10-31",
            "supervising_unit_id": seeded.units["P1"],
        },
    )
    assert dup.status_code == 409
    other = client.post(
        "/cases",
        headers=token("super1"),
        json={
            "case_number": "R-2",
            "person_id": seeded.person_a,
            "measure": "bail",
            "period_start": "2026-11-01",
            "period_end": "2027-10-31",
            "supervising_unit_id": seeded.units["P2"],
        },
    )
    assert other.status_code == 400
