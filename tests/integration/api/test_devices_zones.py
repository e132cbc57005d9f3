"""Devices (provisioning against the real broker, assignment), zones (datums) and case rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from geofence.datum import wgs84_to_gcj02
from tests.integration.api import world
from tests.support import services

pytestmark = pytest.mark.integration

Headers = Callable[[str], dict[str, str]]


def _device_id() -> str:
    return f"W-T{uuid.uuid4().hex[:8]}"


def test_provision_returns_the_password_once(
    api_settings: Settings, seeded: world.World, client: TestClient, token: Headers
) -> None:
    device_id = _device_id()
    r = client.post(
        "/devices", headers=token("admin"),
        json={"id": device_id, "unit_id": seeded.units["P1"], "model": "BW-1"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    creds = r.json()["credentials"]
    assert creds["username"] == device_id
    assert creds["publish_prefix"] == f"bw/v1/dev/{device_id}/"
    # The broker accepts the login; the database holds only a hash.
    services.mqtt_client(
        api_settings, username=creds["username"], password=creds["password"]
    ).disconnect()
    with psycopg.connect(api_settings.db.dsn()) as conn:
        row = conn.execute(
            "SELECT mqtt_password_hash FROM devices WHERE id = %s", (device_id,)
        ).fetchone()
    assert row is not None
    assert row[0].startswith("scrypt$")
    assert creds["password"] not in row[0]
    shown = client.get(f"/devices/{device_id}", headers=token("police1")).json()
    assert "password" not in str(shown)
    assert (
        client.post("/devices", headers=token("admin"), json={"id": device_id}).status_code == 409
    )
    rotated = client.post(f"/devices/{device_id}/credentials/rotate", headers=token("admin"))
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["credentials"]["password"] != creds["password"]
    with pytest.raises(RuntimeError):
        services.mqtt_client(api_settings, username=device_id, password=creds["password"])


def test_assign_and_unassign_keep_history(
    api_settings: Settings, seeded: world.World, client: TestClient, token: Headers
) -> None:
    device_id = _device_id()
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO devices (id, unit_id) VALUES (%s, %s)", (device_id, seeded.units["P2"])
        )
    path = f"/cases/{seeded.case_b}/devices"
    r = client.post(path, headers=token("police2"), json={"device_id": device_id})
    assert r.status_code == 201, r.text
    assert r.json()["valid_to"] is None
    case = client.get(f"/cases/{seeded.case_b}", headers=token("police2")).json()
    assert case["device_id"] == device_id
    again = client.post(
        path, headers=token("super2"), json={"device_id": device_id, "role": "protected_person"}
    )
    assert again.status_code == 409
    # Another station cannot use it (not in its scope).
    other = client.post(
        f"/cases/{seeded.case_a}/devices", headers=token("super1"), json={"device_id": device_id}
    )
    assert other.status_code == 400
    listed = client.get("/devices?assigned=true", headers=token("super2")).json()["items"]
    assert [d["assigned_case_id"] for d in listed if d["id"] == device_id] == [seeded.case_b]
    r = client.post(f"{path}/{device_id}/unassign", headers=token("super2"))
    assert r.status_code == 200, r.text
    assert r.json()["valid_to"] is not None
    assert client.post(f"{path}/{device_id}/unassign", headers=token("super2")).status_code == 404
    history = client.get(path, headers=token("pros1"))
    assert history.status_code == 404  # case B has no procuratorate: not the prosecutor's
    history = client.get(path, headers=token("police2")).json()
    assert [(h["device_id"], h["valid_to"] is not None) for h in history] == [(device_id, True)]


def test_zone_stored_wgs84_served_in_any_datum(
    seeded: world.World, client: TestClient, token: Headers
) -> None:
    lon, lat = 118.52, 37.46
    glon, glat = wgs84_to_gcj02(lon, lat)
    r = client.post(
        "/zones", headers=token("super1"),
        json={"name": "home", "kind": "circle", "datum": "gcj02", "radius_m": 150,
              "geojson": {"type": "Feature", "properties": {},
                          "geometry": {"type": "Point", "coordinates": [glon, glat]}}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    zone = r.json()
    assert zone["source_datum"] == "gcj02"
    assert zone["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-5)
    served = client.get(f"/zones/{zone['id']}?datum=gcj02", headers=token("police1")).json()
    assert served["datum"] == "gcj02"
    assert served["geometry"]["coordinates"] == pytest.approx([glon, glat], abs=1e-6)
    assert client.get(f"/zones/{zone['id']}", headers=token("police2")).status_code == 404
    wrong = client.post(
        "/zones", headers=token("super1"),
        json={"name": "x", "kind": "polygon", "datum": "wgs84", "radius_m": 10,
              "geojson": {"type": "Point", "coordinates": [lon, lat]}},
    )  # fmt: skip
    assert wrong.status_code == 422
    assert "does not match" in wrong.json()["detail"]


def test_rules_are_validated_like_the_engine(
    seeded: world.World, client: TestClient, token: Headers
) -> None:
    path = f"/cases/{seeded.case_a}/rules"
    curfew = {
        "kind": "be_inside_during", "zone_id": seeded.zone_victim,
        "grace": {"open_after_fixes": 3, "open_after_s": 60, "clear_after_fixes": 3,
                  "clear_after_s": 60},
        "schedule": {"timezone": "Asia/Shanghai",
                     "windows": [{"days": [0, 1, 2, 3, 4], "start": "22:00", "end": "06:00"}]},
    }  # fmt: skip
    r = client.post(path, headers=token("super1"), json=curfew)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["schedule"]["windows"][0]["start"] == "22:00"
    away = {"kind": "keep_away_from", "params": {"protected_device_id": "W-V"}}
    r = client.post(path, headers=token("super1"), json=away)
    assert r.status_code == 422
    assert "min_distance_m" in r.json()["detail"]
    other_zone = client.post(
        f"/cases/{seeded.case_b}/rules", headers=token("super2"),
        json={"kind": "stay_inside", "zone_id": seeded.zone_city},
    )  # fmt: skip
    assert other_zone.status_code == 400  # P1's zone is not P2's to use
    r = client.patch(
        f"{path}/{rule['id']}", headers=token("admin"),
        json={"active": False, "valid_to": "2027-01-01T00:00:00+08:00"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["active"], r.json()["valid_to"]) == (False, "2026-12-31T16:00:00Z")
    bad = client.patch(
        f"{path}/{rule['id']}", headers=token("admin"),
        json={"valid_from": "2027-02-01T00:00:00+08:00"},
    )  # fmt: skip
    assert bad.status_code == 422
    listed = client.get(path, headers=token("pros1")).json()
    assert rule["id"] in [x["id"] for x in listed]


def test_device_rules_are_validated_and_may_switch_a_condition_off(
    seeded: world.World, client: TestClient, token: Headers
) -> None:
    path = f"/cases/{seeded.case_a}/rules"
    faulty_strap = {
        "kind": "strap_open", "params": {"enabled": False}, "valid_to": "2027-01-01T00:00:00Z",
    }  # fmt: skip
    r = client.post(path, headers=token("super1"), json=faulty_strap)
    assert r.status_code == 201, r.text
    assert r.json()["params"] == {"enabled": False}
    battery = {"kind": "battery_critical", "params": {"battery_critical_pct": 25},
               "severity": "high"}  # fmt: skip
    assert client.post(path, headers=token("super1"), json=battery).status_code == 201
    for params, reason in [
        ({"battery_critical_pct": 250}, "between 0 and 100"),
        ({"no_signal_after_s": 60}, "takes no parameter no_signal_after_s"),
        ({"enabled": "sometimes"}, "enabled must be true or false"),
    ]:
        r = client.post(path, headers=token("super1"),
                        json={"kind": "battery_critical", "params": params})  # fmt: skip
        assert r.status_code == 422, params
        assert reason in r.json()["detail"]
