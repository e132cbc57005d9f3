"""Tracks: GeoJSON with simplification that keeps violation points, CSV and GPX, access log."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from xml.etree import ElementTree

import psycopg
import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration

RANGE = "from=2026-11-01T08:00:00%2B08:00&to=2026-11-01T10:00:00%2B08:00&purpose=custody+review+A-1"
Headers = Callable[[str], dict[str, str]]


def test_geojson_track_and_access_log(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    r = client.get(f"/cases/{seeded.case_a}/track?{RANGE}", headers=token("pros1"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["properties"]["count"] == 120
    first = fc["features"][0]["properties"]
    assert first["time"].endswith("+08:00")
    assert first["src"] == "gnss"
    assert first["acc_m"] == 8.0
    with psycopg.connect(api_settings.db.dsn()) as conn:
        row = conn.execute(
            "SELECT principal, action, purpose, range_from, range_to FROM access_log "
            "WHERE case_id = %s ORDER BY id DESC LIMIT 1",
            (seeded.case_a,),
        ).fetchone()
    assert row is not None
    assert row[:3] == ("prosecutor:pros1", "track.read", "custody review A-1")
    assert row[4] - row[3] == timedelta(hours=2)


def test_simplification_keeps_violation_points(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    # A second case whose straight track passes through the victim's exclusion circle, and
    # one fix cited as alert evidence.
    lon, lat = world.CENTRE
    start = world.T0 + timedelta(days=1)
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        person = conn.execute(
            "INSERT INTO persons (full_name) VALUES ('S') RETURNING id"
        ).fetchone()
        case = conn.execute(
            "INSERT INTO cases (case_number, person_id, measure, supervising_unit_id) "
            "VALUES ('S-1', %s, 'bail', %s) RETURNING id",
            (person[0], seeded.units["P1"]),  # type: ignore[index]
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO case_rules (case_id, kind, zone_id) VALUES (%s, 'stay_outside', %s)",
            (case, seeded.zone_victim),
        )
        conn.execute(
            "INSERT INTO alerts (case_id, unit_id, kind, severity, episode_key, started_at, "
            "evidence)"
            " VALUES (%s, %s, 'no_signal', 'low', 's-1', %s, %s)",
            (
                case,
                seeded.units["P1"],
                start,
                psycopg.types.json.Jsonb(
                    [
                        {
                            "device_id": "W-S",
                            "fix_time": (start + timedelta(minutes=10)).isoformat(),
                            "seq": 10,
                        }
                    ]
                ),
            ),
        )
    fixes = [(start + timedelta(minutes=i), lon + i * 0.001, lat, 5.0) for i in range(100)]
    world.insert_fixes(api_settings, "W-S", case, fixes)
    q = "from=2026-11-02T00:00:00Z&to=2026-11-02T03:00:00Z&purpose=custody+review&simplify=50"
    fc = client.get(f"/cases/{case}/track?{q}", headers=token("police1")).json()
    seqs = {f["properties"]["seq"] for f in fc["features"]}
    # A straight line simplifies to its two ends, plus the evidence fix and the ones in the circle.
    inside_circle = {
        i for i in range(100) if abs(lon + i * 0.001 - (lon + 0.05)) * 88_000 < 300 - 10
    }
    assert {0, 99, 10} | inside_circle <= seqs
    assert len(seqs) < 20
    assert all(
        f["properties"]["violation"]
        for f in fc["features"]
        if f["properties"]["seq"] in inside_circle
    )


def test_csv_and_gpx_exports(client: TestClient, seeded: world.World, token: Headers) -> None:
    r = client.get(f"/cases/{seeded.case_a}/track.csv?{RANGE}", headers=token("police1"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 120
    assert rows[0]["time_local"].endswith("+08:00")
    r = client.get(f"/cases/{seeded.case_a}/track.gpx?{RANGE}", headers=token("police1"))
    root = ElementTree.fromstring(r.content)
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert len(root.findall(".//g:trkpt", ns)) == 120
