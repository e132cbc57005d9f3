"""Every route added for units, users, persons, devices, zones, rules, permits, alerts and latest
positions: unauthenticated refused, another unit's resource 404, role limits 403, bad input a
problem detail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration

Headers = Callable[[str], dict[str, str]]
PURPOSE = "purpose=duty+shift+overview"
PERMIT: dict[str, object] = {
    "reason": "hospital visit",
    "window_start": "2026-11-02T10:00:00+08:00",
    "window_end": "2026-11-02T12:00:00+08:00",
    "suspended_rule_ids": [1],
}


@dataclass(frozen=True)
class Ids:
    c: int  # case of station P1
    a: int  # alert of that case, routed to P1
    p: int  # permit of that case
    r: int  # rule of that case
    z: int  # zone of P1
    d: str  # device of P1
    q: int  # person of that case
    u: int  # user police1 (unit P1)
    n: int  # unit P1


@pytest.fixture(scope="module")
def ids(api_settings: Settings, seeded: world.World) -> Ids:
    alert = world.insert_alert(api_settings, seeded.case_a, seeded.units["P1"])
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        rule = conn.execute(
            "SELECT min(id) FROM case_rules WHERE case_id = %s", (seeded.case_a,)
        ).fetchone()
        permit = conn.execute(
            "INSERT INTO leave_permits (case_id, reason, suspended_rule_ids, window_start, "
            "window_end, requested_by) VALUES (%s, 'hospital', %s, now(), now() + interval '1 h',"
            " %s) RETURNING id",
            (seeded.case_a, [rule[0]] if rule else [], seeded.users["police1"]),
        ).fetchone()
    assert rule is not None
    assert permit is not None
    return Ids(
        seeded.case_a, alert, permit[0], rule[0], seeded.zone_city, seeded.device,
        seeded.person_a, seeded.users["police1"], seeded.units["P1"],
    )  # fmt: skip


#: (method, path, body) of every scoped route; placeholders are fields of ``Ids``.
ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/alerts/{a}", None),
    ("POST", "/alerts/{a}/acknowledge", None),
    ("POST", "/alerts/{a}/resolve", {"disposition": "false_alarm", "note": "checked"}),
    ("GET", "/devices/{d}", None),
    ("POST", "/devices/{d}/credentials/rotate", None),
    ("GET", "/cases/{c}/devices", None),
    ("POST", "/cases/{c}/devices", {"device_id": "W-NONE", "role": "defendant"}),
    ("POST", "/cases/{c}/devices/{d}/unassign", None),
    ("GET", "/zones/{z}", None),
    ("GET", "/cases/{c}/rules", None),
    ("POST", "/cases/{c}/rules", {"kind": "no_signal"}),
    ("GET", "/cases/{c}/rules/{r}", None),
    ("PATCH", "/cases/{c}/rules/{r}", {"active": True}),
    ("GET", "/cases/{c}/permits", None),
    ("POST", "/cases/{c}/permits", PERMIT),
    ("GET", "/permits/{p}", None),
    ("POST", "/permits/{p}/approve", {"note": ""}),
    ("POST", "/permits/{p}/reject", {"note": "no"}),
    ("POST", "/permits/{p}/cancel", {"note": "no longer needed"}),
    ("GET", "/persons/{q}", None),
]
#: Routes with no resource in the path (lists and creation).
OPEN_ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/alerts", None),
    ("GET", "/devices", None),
    ("POST", "/devices", {"id": "W-X"}),
    ("GET", "/zones", None),
    ("POST", "/zones", {}),
    ("GET", "/permits", None),
    ("GET", "/persons", None),
    ("POST", "/persons", {"full_name": "x"}),
    ("GET", "/units", None),
    ("POST", "/units", {}),
    ("GET", "/units/{n}", None),
    ("PATCH", "/units/{n}", {}),
    ("GET", "/users", None),
    ("POST", "/users", {}),
    ("GET", "/users/{u}", None),
    ("PATCH", "/users/{u}", {}),
    ("GET", "/positions/latest?" + PURPOSE, None),
]


def _path(template: str, ids: Ids, **override: object) -> str:
    return template.format(**{**ids.__dict__, **override})


@pytest.mark.parametrize(("method", "path", "body"), ROUTES + OPEN_ROUTES)
def test_unauthenticated_refused(
    client: TestClient, ids: Ids, method: str, path: str, body: dict[str, object] | None
) -> None:
    r = client.request(method, _path(path, ids), json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_other_units_resource_is_not_found(
    client: TestClient,
    ids: Ids,
    token: Headers,
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    """A supervisor of station P2 asks for station P1's things: 404, as for a missing one."""
    r = client.request(method, _path(path, ids), json=body, headers=token("super2"))
    if r.status_code == 403:  # the role may never do this (e.g. provisioning)
        return
    assert r.status_code == 404, r.text
    missing = _path(path, ids, c=999_999, a=999_999, p=999_999, r=999_999, z=999_999,
                    d="W-MISSING", q=999_999)  # fmt: skip
    m = client.request(method, missing, json=body, headers=token("super2"))
    assert m.status_code == 404
    assert r.json()["title"] == m.json()["title"]


def test_admin_sees_only_its_subtree(
    client: TestClient, seeded: world.World, token: Headers
) -> None:
    proc = seeded.units["PROC"]
    assert client.get(f"/units/{proc}", headers=token("admin")).status_code == 404
    pros = seeded.users["pros1"]
    assert client.get(f"/users/{pros}", headers=token("admin")).status_code == 404
    listed = {u["id"] for u in client.get("/units", headers=token("admin")).json()["items"]}
    assert listed == {seeded.units[c] for c in ("CITY", "P1", "P2")}


@pytest.mark.parametrize(
    ("user", "method", "path", "body"),
    [
        ("pros1", "POST", "/alerts/{a}/acknowledge", None),
        ("admin", "GET", "/alerts", None),
        ("auditor", "GET", "/alerts/{a}", None),
        ("police1", "POST", "/devices", {"id": "W-Y"}),
        ("super1", "POST", "/devices/{d}/credentials/rotate", None),
        ("pros1", "GET", "/devices", None),
        ("pros1", "POST", "/cases/{c}/devices", {"device_id": "W-A1"}),
        ("police1", "POST", "/zones", {}),
        ("auditor", "GET", "/zones", None),
        ("police1", "POST", "/cases/{c}/rules", {"kind": "no_signal"}),
        ("pros1", "PATCH", "/cases/{c}/rules/{r}", {"active": False}),
        ("pros1", "POST", "/cases/{c}/permits", PERMIT),
        ("police1", "POST", "/permits/{p}/approve", {}),
        ("admin", "POST", "/permits/{p}/approve", {}),
        ("admin", "POST", "/permits/{p}/cancel", {"note": "no longer needed"}),
        ("auditor", "POST", "/permits/{p}/cancel", {"note": "no longer needed"}),
        ("police1", "GET", "/units", None),
        ("super1", "POST", "/users", {}),
        ("pros1", "GET", "/users/{u}", None),
        ("police1", "POST", "/persons", {"full_name": "x"}),
        ("admin", "GET", "/positions/latest?" + PURPOSE, None),
        ("auditor", "GET", "/positions/latest?" + PURPOSE, None),
    ],
)
def test_role_limits(
    client: TestClient,
    ids: Ids,
    token: Headers,
    user: str,
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    r = client.request(method, _path(path, ids), json=body, headers=token(user))
    assert r.status_code == 403, r.text
    assert r.json()["title"] == "Forbidden"


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "status", "fragment"),
    [
        ("police1", "GET", "/alerts?status=closed", None, 422, "status"),
        ("police1", "GET", "/alerts?since=2026-11-01T00:00", None, 400, "UTC offset"),
        ("police1", "GET", "/alerts?cursor=%%%", None, 400, "cursor"),
        (
            "police1",
            "POST",
            "/alerts/{a}/resolve",
            {"disposition": "oops", "note": "n"},
            422,
            "disposition",
        ),
        (
            "police1",
            "POST",
            "/alerts/{a}/resolve",
            {"disposition": "false_alarm", "note": ""},
            422,
            "note",
        ),
        ("admin", "POST", "/devices", {"id": "bad id!"}, 422, "id"),
        ("admin", "POST", "/devices", {"id": "W-Z", "unit_id": 999_999}, 400, "unit"),
        ("police1", "GET", "/devices?cursor=AA", None, 400, "cursor"),
        ("super1", "POST", "/cases/{c}/devices", {"device_id": "W-NONE"}, 400, "no device"),
        (
            "super1",
            "POST",
            "/zones",
            {"name": "z", "kind": "polygon", "datum": "utm", "geojson": {}},
            422,
            "datum",
        ),
        (
            "super1",
            "POST",
            "/zones",
            {
                "name": "z",
                "kind": "circle",
                "datum": "gcj02",
                "geojson": {"type": "Point", "coordinates": [118.5, 37.4]},
            },
            422,
            "radius_m",
        ),
        (
            "super1",
            "POST",
            "/zones",
            {
                "name": "z",
                "kind": "polygon",
                "datum": "wgs84",
                "geojson": {"type": "Polygon", "coordinates": [[[0, 0]]]},
            },
            422,
            "",
        ),
        ("police1", "GET", "/zones/{z}?datum=osgb", None, 422, "datum"),
        ("super1", "POST", "/cases/{c}/rules", {"kind": "stay_inside"}, 422, "zone"),
        (
            "super1",
            "POST",
            "/cases/{c}/rules",
            {"kind": "be_inside_during", "zone_id": 1},
            422,
            "schedule",
        ),
        ("super1", "POST", "/cases/{c}/rules", {"kind": "curfew"}, 422, "kind"),
        (
            "super1",
            "POST",
            "/cases/{c}/rules",
            {"kind": "no_signal", "grace": {"open_after_fixes": 0}},
            422,
            "open_after_fixes",
        ),
        (
            "super1",
            "POST",
            "/cases/{c}/rules",
            {
                "kind": "be_inside_during",
                "zone_id": 1,
                "schedule": {"windows": [{"days": [7], "start": "22:00", "end": "06:00"}]},
            },
            422,
            "days",
        ),
        (
            "super1",
            "POST",
            "/cases/{c}/rules",
            {
                "kind": "be_inside_during",
                "zone_id": 1,
                "schedule": {"windows": [{"days": [1], "start": "24:00", "end": "06:00"}]},
            },
            422,
            "start",
        ),
        (
            "super1",
            "POST",
            "/cases/{c}/rules",
            {
                "kind": "no_signal",
                "valid_from": "2026-11-02T00:00:00+08:00",
                "valid_to": "2026-11-01T00:00:00+08:00",
            },
            422,
            "valid_to",
        ),
        (
            "police1",
            "POST",
            "/cases/{c}/permits",
            {
                "reason": "hospital",
                "window_start": "2026-11-02T10:00:00+08:00",
                "window_end": "2026-11-02T09:00:00+08:00",
                "suspended_rule_ids": [1],
            },
            400,
            "after",
        ),
        (
            "police1",
            "POST",
            "/cases/{c}/permits",
            {
                "reason": "hospital",
                "window_start": "2026-11-02T10:00:00+08:00",
                "window_end": "2026-11-02T12:00:00+08:00",
            },
            400,
            "destination_zone_id",
        ),
        (
            "police1",
            "POST",
            "/cases/{c}/permits",
            {
                "reason": "hospital",
                "window_start": "2026-11-02T10:00:00+08:00",
                "window_end": "2026-11-02T12:00:00+08:00",
                "suspended_rule_ids": [999999],
            },
            400,
            "rules of case",
        ),
        ("super1", "POST", "/permits/{p}/reject", {"note": " "}, 400, "note"),
        (
            "admin",
            "POST",
            "/users",
            {
                "username": "x y",
                "display_name": "X",
                "role": "police",
                "unit_id": 1,
                "password": "long enough pw",
            },
            422,
            "username",
        ),
        (
            "admin",
            "POST",
            "/units",
            {"code": "S9", "name": "S9", "kind": "police", "parent_id": 999_999},
            400,
            "parent",
        ),
        ("super1", "POST", "/persons", {"full_name": "A", "id_number": "123"}, 422, "id_number"),
        ("police1", "GET", "/positions/latest", None, 422, "purpose"),
    ],
)
def test_bad_input_is_a_clear_problem(
    client: TestClient,
    ids: Ids,
    token: Headers,
    user: str,
    method: str,
    path: str,
    body: dict[str, object] | None,
    status: int,
    fragment: str,
) -> None:
    r = client.request(method, _path(path, ids), json=body, headers=token(user))
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == status
    assert fragment in problem["detail"]
