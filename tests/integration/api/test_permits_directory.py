"""Leave permits (request, who may decide), the directory (units, users, persons) and latest
positions."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration

Headers = Callable[[str], dict[str, str]]


def _request(client: TestClient, token: Headers, seeded: world.World, user: str) -> int:
    rules = client.get(f"/cases/{seeded.case_a}/rules", headers=token(user)).json()
    r = client.post(
        f"/cases/{seeded.case_a}/permits", headers=token(user),
        json={"reason": "mother in hospital", "window_start": "2026-11-05T08:00:00+08:00",
              "window_end": "2026-11-05T20:00:00+08:00", "destination_zone_id": seeded.zone_victim,
              "suspended_rule_ids": [rules[0]["id"]]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "requested"
    return int(r.json()["id"])


def test_permit_decided_by_the_responsible_roles(
    seeded: world.World, client: TestClient, token: Headers
) -> None:
    permit = _request(client, token, seeded, "police1")
    assert (
        client.post(f"/permits/{permit}/approve", json={}, headers=token("police1")).status_code
        == 403
    )
    assert (
        client.post(f"/permits/{permit}/approve", json={}, headers=token("super2")).status_code
        == 404
    )
    r = client.post(f"/permits/{permit}/approve", json={"note": "ok"}, headers=token("pros1"))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decided_by"]) == ("approved", seeded.users["pros1"])
    again = client.post(f"/permits/{permit}/reject", json={"note": "no"}, headers=token("super1"))
    assert again.status_code == 409
    listed = client.get("/permits?status=approved", headers=token("pros1")).json()["items"]
    assert permit in [p["id"] for p in listed]
    other = _request(client, token, seeded, "super1")
    own = client.post(f"/permits/{other}/reject", json={"note": "no"}, headers=token("super1"))
    assert own.status_code == 403
    assert "someone else" in own.json()["detail"]
    r = client.post(f"/permits/{other}/reject", json={"note": "too long"}, headers=token("pros1"))
    assert r.json()["status"] == "rejected"
    case_list = client.get(f"/cases/{seeded.case_a}/permits", headers=token("admin")).json()
    assert {p["id"] for p in case_list} >= {permit, other}


def test_directory_admin_within_subtree(
    seeded: world.World, client: TestClient, token: Headers
) -> None:
    unit_in = {"code": "P9", "name": "Station 9", "kind": "police"}
    r = client.post(
        "/units", headers=token("admin"), json={**unit_in, "parent_id": seeded.units["CITY"]}
    )
    assert r.status_code == 201, r.text
    unit = r.json()["id"]
    again = client.post("/units", headers=token("admin"), json={**unit_in, "parent_id": unit})
    assert again.status_code == 409
    assert (
        client.patch(
            f"/units/{unit}", headers=token("admin"), json={"name": "Station Nine"}
        ).json()["name"]
        == "Station Nine"
    )
    r = client.post(
        "/users", headers=token("admin"),
        json={"username": "police9", "display_name": "P9", "role": "police", "unit_id": unit,
              "password": "correct horse battery"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    user = r.json()
    assert "password" not in str(user)
    assert "hash" not in str(user)
    login = client.post(
        "/auth/token", data={"username": "police9", "password": "correct horse battery"}
    )
    assert login.status_code == 200
    r = client.patch(f"/users/{user['id']}", headers=token("admin"), json={"active": False})
    assert r.json()["active"] is False
    login = client.post(
        "/auth/token", data={"username": "police9", "password": "correct horse battery"}
    )
    assert login.status_code == 401
    me = seeded.users["admin"]
    assert (
        client.patch(f"/users/{me}", headers=token("admin"), json={"active": False}).status_code
        == 400
    )
    users = client.get("/users?role=police", headers=token("admin")).json()["items"]
    assert {u["username"] for u in users} == {"police1", "police2", "police9"}


def test_persons_scoped_through_cases(
    seeded: world.World, client: TestClient, token: Headers
) -> None:
    r = client.post(
        "/persons", headers=token("super1"),
        json={"full_name": "张三", "id_number": "37050219800101001X", "birth_date": "1980-01-01"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    person = r.json()["id"]
    assert client.get(f"/persons/{person}", headers=token("police1")).status_code == 200
    assert client.get(f"/persons/{person}", headers=token("police2")).status_code == 404
    assert client.get(f"/persons/{seeded.person_a}", headers=token("pros1")).status_code == 200
    ids = [p["id"] for p in client.get("/persons", headers=token("police2")).json()["items"]]
    assert seeded.person_a not in ids
    assert person not in ids


def test_latest_positions_logged_with_purpose(
    api_settings: Settings, seeded: world.World, client: TestClient, token: Headers
) -> None:
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO device_status (device_id, last_fix_time, last_lon, last_lat, last_acc, "
            "last_src) VALUES (%s, %s, 118.5, 37.45, 8, 'gnss') ON CONFLICT (device_id) DO UPDATE "
            "SET last_fix_time = EXCLUDED.last_fix_time",
            (seeded.device, world.T0),
        )
    r = client.get("/positions/latest?purpose=night+duty+check", headers=token("police1"))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(i["case_id"], i["device_id"], i["lon"]) for i in items] == [
        (seeded.case_a, seeded.device, 118.5)
    ]
    assert [i["case_id"] for i in client.get(
        "/positions/latest?purpose=night+duty+check", headers=token("police2")).json()["items"]
    ] == [seeded.case_b]  # fmt: skip
    with psycopg.connect(api_settings.db.dsn()) as conn:
        row = conn.execute(
            "SELECT case_id, purpose FROM access_log WHERE action = 'positions.latest' "
            "AND user_id = %s", (seeded.users["police1"],),
        ).fetchall()  # fmt: skip
    assert row == [(seeded.case_a, "night duty check")]
