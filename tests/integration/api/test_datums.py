"""Positions in the datum of a Chinese web map, over the real path: a watch publishes WGS84 fixes
over MQTT, the ingester stores them, and the track (GeoJSON, CSV, GPX) and the latest positions
come back converted as asked, saying in which datum, with the read still written to the access
log."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import psycopg
import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from geofence import datum
from tests.integration.api import world
from tests.integration.ingest.helpers import fix, ingester, loc, scalar
from tests.support import services

pytestmark = pytest.mark.integration

Headers = Callable[[str], dict[str, str]]
GPX = {"g": "http://www.topografix.com/GPX/1/1"}
DEVICE = "W-DATUM"
PURPOSE = "datum check D-1"

#: WGS84 (lon, lat) and the same point in GCJ-02: eviltransform's "shanghai" reference, as
#: tests/unit/test_datum.py checks it against the datum module (whose own tested conversions
#: are the expected values of every other point here).
SHANGHAI, SHANGHAI_GCJ02 = (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)
NEAR = (SHANGHAI[0] + 0.001, SHANGHAI[1] + 0.001)  # ~150 m north-east, a minute later
PATH = [SHANGHAI, NEAR]


def _case(settings: Settings, w: world.World) -> int:
    """A case of station P1 with the watch ``DEVICE`` assigned since yesterday (no rules)."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        person = conn.execute("INSERT INTO persons (full_name) VALUES ('D') RETURNING id")
        case = conn.execute(
            "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id) "
            "VALUES ('DATUM-1', %s, 'bail', 'active', %s) RETURNING id",
            (person.fetchone()[0], w.units["P1"]),  # type: ignore[index]
        ).fetchone()
        assert case
        conn.execute("INSERT INTO devices (id, unit_id) VALUES (%s, %s)", (DEVICE, w.units["P1"]))
        conn.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) "
            "VALUES (%s, %s, now() - interval '1 day')",
            (DEVICE, case[0]),
        )
    return int(case[0])


@pytest.fixture(scope="module")
def published(api_settings: Settings, seeded: world.World) -> tuple[int, str]:
    """The case, and the query string of a window holding the two fixes its watch published."""
    case = _case(api_settings, seeded)
    settings = services.isolated_mqtt(api_settings)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    messages = [
        loc(DEVICE, fix(int((t0 + timedelta(minutes=i)).timestamp() * 1000), i, lon=x, lat=y))
        for i, (x, y) in enumerate(PATH)
    ]
    with ingester(settings):
        watch = services.mqtt_client(settings)
        try:
            services.publish_all(watch, messages)
            services.wait_until(
                lambda: scalar(
                    settings,
                    "SELECT (SELECT count(*) FROM pings WHERE device_id = %s) = 2 AND EXISTS "
                    "(SELECT FROM device_status WHERE device_id = %s AND last_lon = %s)",
                    DEVICE, DEVICE, NEAR[0],
                ),
                timeout_s=20, what="both fixes stored and the watch's status updated",
            )  # fmt: skip
        finally:
            watch.disconnect()
    window = (
        f"from={(t0 - timedelta(minutes=1)).isoformat()}&to={datetime.now(UTC).isoformat()}"
        f"&purpose={PURPOSE.replace(' ', '+')}"
    ).replace("+00:00", "Z")
    return case, window


def _last_access(settings: Settings, action: str) -> tuple[Any, ...]:
    with psycopg.connect(settings.db.dsn()) as conn:
        row = conn.execute(
            "SELECT case_id, purpose, detail FROM access_log WHERE action = %s "
            "ORDER BY id DESC LIMIT 1",
            (action,),
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_geojson_track_in_gcj02_and_by_default_in_wgs84(
    client: TestClient, published: tuple[int, str], token: Headers, api_settings: Settings
) -> None:
    case, window = published
    r = client.get(f"/cases/{case}/track?{window}&datum=gcj02", headers=token("police1"))
    assert r.status_code == 200, r.text
    fc = r.json()
    assert fc["datum"] == fc["properties"]["datum"] == "gcj02"
    shanghai, near = (f["geometry"]["coordinates"] for f in fc["features"])
    assert shanghai == pytest.approx(SHANGHAI_GCJ02, abs=1e-8)  # ~1 mm
    assert tuple(shanghai) == datum.wgs84_to_gcj02(*SHANGHAI)
    assert tuple(near) == datum.wgs84_to_gcj02(*NEAR)
    assert [f["properties"]["acc_m"] for f in fc["features"]] == [8.0, 8.0]  # radii unchanged
    assert _last_access(api_settings, "track.read") == (
        case, PURPOSE, {"format": "geojson", "simplify_m": None, "datum": "gcj02"},
    )  # fmt: skip
    plain = client.get(f"/cases/{case}/track?{window}", headers=token("police1")).json()
    assert plain["datum"] == "wgs84"
    assert [tuple(f["geometry"]["coordinates"]) for f in plain["features"]] == PATH


def test_csv_and_gpx_exports_in_bd09(
    client: TestClient, published: tuple[int, str], token: Headers, api_settings: Settings
) -> None:
    case, window = published
    r = client.get(f"/cases/{case}/track.csv?{window}&datum=bd09", headers=token("police1"))
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["datum"] for row in rows] == ["bd09", "bd09"]
    got = [(float(row["lon"]), float(row["lat"])) for row in rows]
    assert got == [datum.wgs84_to_bd09(*SHANGHAI), datum.wgs84_to_bd09(*NEAR)]
    assert [row["acc_m"] for row in rows] == ["8", "8"]
    assert _last_access(api_settings, "track.export") == (
        case, PURPOSE, {"format": "csv", "datum": "bd09"},
    )  # fmt: skip
    r = client.get(f"/cases/{case}/track.gpx?{window}&datum=bd09", headers=token("police1"))
    root = ElementTree.fromstring(r.content)
    assert root.findtext("g:metadata/g:keywords", namespaces=GPX) == "datum=bd09"
    points = root.findall(".//g:trkpt", GPX)
    got = [(float(p.attrib["lon"]), float(p.attrib["lat"])) for p in points]
    assert got == [datum.wgs84_to_bd09(*SHANGHAI), datum.wgs84_to_bd09(*NEAR)]
    plain = client.get(f"/cases/{case}/track.csv?{window}", headers=token("police1")).text
    first = next(csv.DictReader(io.StringIO(plain)))
    assert (float(first["lon"]), float(first["lat"]), first["datum"]) == (*SHANGHAI, "wgs84")


def test_latest_positions_in_gcj02(
    client: TestClient, published: tuple[int, str], token: Headers, api_settings: Settings
) -> None:
    case, _ = published
    q = f"purpose={PURPOSE.replace(' ', '+')}&limit=200"
    items = client.get(f"/positions/latest?{q}&datum=gcj02", headers=token("police1")).json()
    (item,) = [i for i in items["items"] if i["case_id"] == case]
    assert item["datum"] == "gcj02"
    assert (item["lon"], item["lat"]) == datum.wgs84_to_gcj02(*NEAR)
    assert item["acc_m"] == 8.0
    assert _last_access(api_settings, "positions.latest")[1:] == (
        PURPOSE, {"cases": len([i for i in items["items"] if i["fix_time"]]), "datum": "gcj02"},
    )  # fmt: skip
    plain = client.get(f"/positions/latest?{q}", headers=token("police1")).json()
    (item,) = [i for i in plain["items"] if i["case_id"] == case]
    assert (item["lon"], item["lat"], item["datum"]) == (*NEAR, "wgs84")


def test_an_unknown_datum_is_a_problem_not_a_crash(
    client: TestClient, published: tuple[int, str], token: Headers
) -> None:
    case, window = published
    for url in (f"/cases/{case}/track.csv?{window}", "/positions/latest?purpose=x+y+z"):
        r = client.get(f"{url}&datum=cgcs2000", headers=token("police1"))
        assert r.status_code in (400, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
