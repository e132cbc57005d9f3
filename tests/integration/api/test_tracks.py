"""Tracks: GeoJSON, CSV and GPX whose points carry the verdict their fix had (judged over the real
path: MQTT, ingester, alerts), simplification that keeps the judged points, access log."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from api.params import TimeRange
from api.tracks import service
from config.settings import Settings
from store.pool import open_pool
from tests.integration.api import world
from tests.integration.ingest.helpers import fix, ingester, loc, rows, scalar
from tests.support import services

pytestmark = pytest.mark.integration

RANGE = "from=2026-11-01T08:00:00%2B08:00&to=2026-11-01T10:00:00%2B08:00&purpose=custody+review+A-1"
Headers = Callable[[str], dict[str, str]]
GPX = {"g": "http://www.topografix.com/GPX/1/1"}


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


#: Where a watch stands relative to the victim's circle (300 m around ``VICTIM``), and the
#: verdict each of these fixes must carry: before the rule applied, far east, on the edge with a
#: wide accuracy (undecidable), at the centre, far east again.
VICTIM = (world.CENTRE[0] + 0.05, world.CENTRE[1])
FAR = (VICTIM[0] + 0.0113, VICTIM[1])  # ~1 km east
EDGE = (VICTIM[0] + 0.0034, VICTIM[1])  # ~300 m east, on the circle
PATH = [
    (FAR, 10.0, "not_judged"), (FAR, 10.0, "compliant"), (FAR, 10.0, "compliant"),
    (EDGE, 150.0, "uncertain"), (EDGE, 150.0, "uncertain"),
    (VICTIM, 10.0, "violation"), (VICTIM, 10.0, "violation"), (VICTIM, 10.0, "violation"),
    (FAR, 10.0, "compliant"),
]  # fmt: skip


def _verdict_case(settings: Settings, w: world.World, device: str, rule_from: datetime) -> int:
    """A case of station P1 with ``device`` and a stay-outside rule on the victim's circle in
    force from ``rule_from`` (made an hour ago; two fixes open or clear an episode)."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        person = conn.execute("INSERT INTO persons (full_name) VALUES ('V') RETURNING id")
        case = conn.execute(
            "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id) "
            "VALUES (%s, %s, 'bail', 'active', %s) RETURNING id",
            (f"V-{device}", person.fetchone()[0], w.units["P1"]),  # type: ignore[index]
        ).fetchone()
        assert case
        conn.execute(
            "INSERT INTO case_rules (case_id, kind, zone_id, grace, valid_from, created_at) "
            "VALUES (%s, 'stay_outside', %s, %s, %s, now() - interval '1 hour')",
            (case[0], w.zone_victim, Jsonb({"open_after_fixes": 2, "clear_after_fixes": 1}),
             rule_from),
        )  # fmt: skip
        conn.execute("INSERT INTO devices (id, unit_id) VALUES (%s, %s)", (device, w.units["P1"]))
        conn.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) "
            "VALUES (%s, %s, now() - interval '1 day')",
            (device, case[0]),
        )
    return int(case[0])


def test_each_track_point_carries_the_verdict_it_had(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    """A watch publishes over MQTT; the ingester stores and judges its fixes and raises a
    "location uncertain" alert and an exclusion-zone alert. Every point of the GeoJSON, CSV and
    GPX track says what its fix was found to be; simplification keeps the judged ones."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    case = _verdict_case(api_settings, seeded, "W-V", t0 + timedelta(seconds=30))
    settings = services.isolated_mqtt(api_settings)
    messages = [
        loc("W-V", fix(int((t0 + timedelta(minutes=i)).timestamp() * 1000), i, lon=where[0],
                       lat=where[1], acc=acc))
        for i, (where, acc, _) in enumerate(PATH)
    ]  # fmt: skip
    with ingester(settings):
        watch = services.mqtt_client(settings)
        try:
            services.publish_all(watch, messages)
            services.wait_until(
                lambda: scalar(settings, "SELECT count(*) FROM alerts WHERE case_id = %s AND "
                               "cleared_at IS NOT NULL AND kind = 'entered_exclusion_zone'",
                               case) == 1,
                timeout_s=20, what="the exclusion-zone episode judged and cleared",
            )  # fmt: skip
        finally:
            watch.disconnect()
    kinds = rows(settings, "SELECT kind FROM alerts WHERE case_id = %s ORDER BY id", case)
    assert sorted(k for (k,) in kinds) == ["entered_exclusion_zone", "location_uncertain"]
    expected = [verdict for _, _, verdict in PATH]
    window = (
        f"from={(t0 - timedelta(minutes=1)).isoformat()}&to={datetime.now(UTC).isoformat()}"
        "&purpose=custody+review"
    ).replace("+00:00", "Z")
    fc = client.get(f"/cases/{case}/track?{window}", headers=token("police1")).json()
    assert [f["properties"]["verdict"] for f in fc["features"]] == expected
    assert fc["properties"]["violation_fixes"] == 3
    assert fc["properties"]["fixes_by_verdict"] == {
        "not_judged": 1, "compliant": 3, "uncertain": 2, "violation": 3,
    }  # fmt: skip
    simplified = client.get(f"/cases/{case}/track?{window}&simplify=5000", headers=token("police1"))
    kept = {
        f["properties"]["seq"]: f["properties"]["verdict"] for f in simplified.json()["features"]
    }
    assert {0, 3, 4, 5, 6, 7, 8} <= set(kept)
    assert all(kept[seq] == expected[seq] for seq in kept)
    r = client.get(f"/cases/{case}/track.csv?{window}", headers=token("police1"))
    assert [row["verdict"] for row in csv.DictReader(io.StringIO(r.text))] == expected
    r = client.get(f"/cases/{case}/track.gpx?{window}", headers=token("police1"))
    points = ElementTree.fromstring(r.content).findall(".//g:trkpt", GPX)
    assert [pt.findtext("g:type", namespaces=GPX) for pt in points] == expected


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


def _tz_case(settings: Settings, w: world.World, device: str, zone: str) -> int:
    """A case of station P1 shown in ``zone`` with ``device`` assigned since 2026-10-31."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        person = conn.execute(
            "INSERT INTO persons (full_name) VALUES ('T') RETURNING id"
        ).fetchone()
        assert person
        case = conn.execute(
            "INSERT INTO cases (case_number, person_id, measure, supervising_unit_id, timezone) "
            "VALUES (%s, %s, 'bail', %s, %s) RETURNING id",
            (f"TZ-{device}", person[0], w.units["P1"], zone),
        ).fetchone()
        assert case
        conn.execute("INSERT INTO devices (id) VALUES (%s)", (device,))
        conn.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) VALUES (%s, %s, %s)",
            (device, case[0], world.T0 - timedelta(days=1)),
        )
    return int(case[0])


def test_exports_match_the_stored_fixes_in_the_cases_zone(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    """Fixes across St John's end of daylight time (2026-11-01 04:30 UTC, -02:30 to -03:30), some
    with fractions of a second: every CSV field and GPX point says what is stored, times as
    ``datetime.isoformat`` prints them in the case's zone and in UTC."""
    tz = ZoneInfo("America/St_Johns")
    case = _tz_case(api_settings, seeded, "W-TZ", tz.key)
    start = world.T0 + timedelta(hours=3)
    fixes = [
        (start + timedelta(minutes=7 * i, microseconds=(i % 3) * 123_456),
         -52.7 + i * 1e-4, 47.56 + (i % 5) * 1e-5, [8.0, 10.3, 2.5e-5][i % 3])
        for i in range(30)
    ]  # fmt: skip
    world.insert_fixes(api_settings, "W-TZ", case, fixes)
    q = "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&purpose=custody+review"
    r = client.get(f"/cases/{case}/track.csv?{q}", headers=token("police1"))
    assert r.status_code == 200, r.text
    assert r.content.count(b"\r\n") == len(fixes) + 1
    assert b"\n" not in r.content.replace(b"\r\n", b"")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(fixes)
    offsets = set()
    for seq, (row, (t, lon, lat, acc)) in enumerate(zip(rows, fixes, strict=True)):
        assert row["time_local"] == t.astimezone(tz).isoformat()
        assert row["time_utc"] == row["received_utc"] == t.isoformat()
        assert (row["device_id"], row["seq"], row["src"]) == ("W-TZ", str(seq), "gnss")
        assert (float(row["lon"]), float(row["lat"])) == (lon, lat)
        assert np.float32(row["acc_m"]) == np.float32(acc)
        assert row["speed_mps"] == row["heading_deg"] == row["battery_pct"] == ""
        assert row["verdict"] == "not_judged"
        offsets.add(row["time_local"][-6:])
    assert offsets == {"-02:30", "-03:30"}
    r = client.get(f"/cases/{case}/track.gpx?{q}", headers=token("police1"))
    points = ElementTree.fromstring(r.content).findall(".//g:trkpt", GPX)
    assert len(points) == len(fixes)
    for seq, (pt, (t, lon, lat, acc)) in enumerate(zip(points, fixes, strict=True)):
        assert (float(pt.attrib["lon"]), float(pt.attrib["lat"])) == (lon, lat)
        assert [child.tag.split("}")[1] for child in pt] == ["time", "desc", "src", "type"]
        assert pt.findtext("g:type", namespaces=GPX) == "not_judged"  # no rule: never judged
        assert (
            pt.findtext("g:time", namespaces=GPX) == t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        )
        desc = pt.findtext("g:desc", namespaces=GPX) or ""
        acc_text, seq_text = desc.removeprefix("acc_m=").split(" seq=")
        assert (np.float32(acc_text), int(seq_text)) == (np.float32(acc), seq)


def test_export_stream_closed_early_releases_its_connection(
    seeded: world.World, api_settings: Settings
) -> None:
    """A client that goes away mid-export: the copy is cancelled, the pooled connection comes
    back usable and the server is no longer copying."""
    case = _tz_case(api_settings, seeded, "W-BIG", "Asia/Shanghai")
    start = world.T0 + timedelta(days=2)
    lon, lat = world.CENTRE
    world.insert_fixes(
        api_settings, "W-BIG", case,
        [(start + timedelta(seconds=5 * i), lon, lat, 5.0) for i in range(30_000)],
    )  # fmt: skip
    rng = TimeRange(start, start + timedelta(days=1))

    async def run() -> tuple[int, int, int]:
        async with open_pool(api_settings.db, application_name="bw-test-export") as pool:
            chunks = service.export_rows(
                pool=pool, case_id=case, rng=rng, timezone="Asia/Shanghai", fmt="gpx"
            )
            first = await anext(chunks)
            await chunks.aclose()
            copying = await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                "'bw-test-export' AND query LIKE 'COPY%' AND state <> 'idle'"
            )
            rows = await pool.fetchval("SELECT count(*) FROM pings WHERE case_id = $1", case)
            return len(first), int(copying), int(rows)

    first, copying, rows = asyncio.run(run())
    assert 0 < first < 30_000 * 150, "the stream stopped after its first chunks"
    assert (copying, rows) == (0, 30_000)
