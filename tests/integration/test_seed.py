"""The demo seed against a fresh database: idempotent, the three cases with real zones and rules."""

from __future__ import annotations

import asyncpg
import pytest
import shapely
from argon2 import PasswordHasher
from shapely.geometry import shape

from config.settings import Settings
from sim.scenario import USERS, load_boundaries
from sim.seed import format_summary, seed
from store.pool import open_pool

pytestmark = pytest.mark.integration

EXPECTED = {
    "units": 6, "users": 8, "persons": 6, "cases": 6, "devices": 6, "device_assignments": 6,
    "zones": 6, "case_rules": 8,
}  # fmt: skip


async def test_seed_twice_gives_the_same_rows(settings: Settings) -> None:
    first = await seed(settings, devices=6)
    async with open_pool(settings.db, application_name="test-seed") as pool:
        ids_before = await pool.fetch("SELECT id, password_hash FROM users ORDER BY id")
        assignments_before = await pool.fetch("SELECT * FROM device_assignments ORDER BY id")
    second = await seed(settings, devices=6)
    assert first.counts == second.counts == EXPECTED
    async with open_pool(settings.db, application_name="test-seed") as pool:
        assert await pool.fetch("SELECT id, password_hash FROM users ORDER BY id") == ids_before
        assert (
            await pool.fetch("SELECT * FROM device_assignments ORDER BY id") == assignments_before
        )
        await check_cases(pool)
        await check_users(pool)
    text = format_summary(second)
    assert "police.dyq" in text
    assert "DY-2026-003" in text


async def check_cases(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch(
        """
        SELECT c.case_number, c.measure, c.status, su.code AS unit, pu.code AS proc,
               r.kind, r.grace, r.schedule, r.severity, z.kind AS zone_kind, z.geometry,
               z.radius_m, z.source_datum, z.properties, a.device_id
          FROM cases c
          JOIN units su ON su.id = c.supervising_unit_id
          JOIN units pu ON pu.id = c.procuratorate_unit_id
          JOIN case_rules r ON r.case_id = c.id
          JOIN zones z ON z.id = r.zone_id
          JOIN device_assignments a ON a.case_id = c.id AND a.valid_to IS NULL
         WHERE c.case_number IN ('DY-2026-001', 'DY-2026-002', 'DY-2026-003')
         ORDER BY c.case_number, r.id
        """
    )
    got = [
        (r["case_number"], r["measure"], r["kind"], r["zone_kind"], r["device_id"]) for r in rows
    ]
    assert got == [
        ("DY-2026-001", "bail", "stay_inside", "polygon", "dw-0001"),
        ("DY-2026-001", "bail", "stay_outside", "circle", "dw-0001"),
        ("DY-2026-002", "residential_surveillance", "stay_inside", "polygon", "dw-0002"),
        ("DY-2026-002", "residential_surveillance", "be_inside_during", "circle", "dw-0002"),
        ("DY-2026-003", "bail", "stay_inside", "polygon", "dw-0003"),
    ]
    assert [r["unit"] for r in rows] == ["DY-PSB-DYQ"] * 2 + ["DY-PSB-KLQ"] * 2 + ["DY-PSB-GRX"]
    assert {r["proc"] for r in rows} == {"DY-PROC-DYQ"}
    grace = {"open_after_fixes": 3, "open_after_s": 60, "clear_after_fixes": 3, "clear_after_s": 60}
    assert all(r["grace"] == grace for r in rows)
    curfew = rows[3]["schedule"]
    assert curfew == {
        "timezone": "Asia/Shanghai",
        "windows": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "06:00"}],
    }
    assert [r["radius_m"] for r in rows] == [None, 300.0, None, 150.0, None]
    polygons = [r for r in rows if r["zone_kind"] == "polygon"]
    assert [r["properties"]["adcode"] for r in polygons] == ["370502", "370505", "370500"]
    assert {r["source_datum"] for r in polygons} == {"gcj02"}
    city = load_boundaries()["370500"].shape
    for r in rows:
        geom = shape(r["geometry"])
        assert geom.geom_type == ("Point" if r["zone_kind"] == "circle" else "MultiPolygon")
        assert city.buffer(1e-6).covers(geom), "every zone lies in Dongying"
    assert shapely.Point(rows[1]["geometry"]["coordinates"]).within(shape(rows[0]["geometry"]))


async def check_users(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch(
        "SELECT u.username, u.role, n.code, u.password_hash"
        " FROM users u JOIN units n ON n.id = u.unit_id"
    )
    by_name = {r["username"]: r for r in rows}
    hasher = PasswordHasher()
    for spec in USERS:
        row = by_name[spec.username]
        assert (row["role"], row["code"]) == (spec.role, spec.unit_code)
        assert row["password_hash"].startswith("$argon2id$")
        assert hasher.verify(row["password_hash"], spec.password)


async def test_reseed_with_more_watches_adds_only_those(settings: Settings) -> None:
    await seed(settings, devices=3)
    bigger = await seed(settings, devices=9)
    assert bigger.counts["cases"] == bigger.counts["devices"] == 9
    assert bigger.counts["device_assignments"] == 9
    again = await seed(settings, devices=9)
    assert again.counts == bigger.counts
