"""Every route: unauthenticated refused, another unit's case 404, role limits, bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.integration.api import world

pytestmark = pytest.mark.integration

RANGE = "from=2026-11-01T00:00:00Z&to=2026-11-01T02:00:00Z&purpose=review+before+custody+decision"

#: (method, path template, body) of every case-scoped route; {c} is the case id.
CASE_ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/cases/{c}", None),
    ("GET", "/cases/{c}/events", None),
    ("PATCH", "/cases/{c}", {"conditions": {"report": "weekly"}}),
    ("POST", "/cases/{c}/status", {"status": "suspended", "note": "test note"}),
    ("GET", "/cases/{c}/track?" + RANGE, None),
    ("GET", "/cases/{c}/track.csv?" + RANGE, None),
    ("GET", "/cases/{c}/track.gpx?" + RANGE, None),
    ("GET", "/cases/{c}/compliance?" + RANGE, None),
    ("GET", "/cases/{c}/compliance.html?" + RANGE, None),
    ("GET", "/cases/{c}/deposits", None),
    ("GET", "/cases/{c}/deposits/1", None),
]

Headers = Callable[[str], dict[str, str]]


@pytest.mark.parametrize(("method", "path", "body"), [*CASE_ROUTES, ("GET", "/cases", None)])
def test_unauthenticated_refused(
    client: TestClient, seeded: world.World, method: str, path: str, body: dict[str, object] | None
) -> None:
    r = client.request(method, path.format(c=seeded.case_a), json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path", "body"), CASE_ROUTES)
@pytest.mark.parametrize("who", ["super2", "admin_other"])
def test_other_units_case_is_not_found(
    client: TestClient,
    seeded: world.World,
    token: Headers,
    method: str,
    path: str,
    body: dict[str, object] | None,
    who: str,
) -> None:
    # super2 (station P2) asks for station P1's case; a prosecutor asks for a case of no
    # procuratorate. Both get 404, exactly as for a case that does not exist.
    user, case = ("super2", seeded.case_a) if who == "super2" else ("pros1", seeded.case_b)
    r = client.request(method, path.format(c=case), json=body, headers=token(user))
    if r.status_code == 403:  # the role may never do this (e.g. a prosecutor amending a case)
        return
    assert r.status_code == 404, r.text
    missing = client.request(method, path.format(c=999_999), json=body, headers=token(user))
    assert missing.status_code == 404
    assert r.json()["detail"].replace(str(case), "N") == missing.json()["detail"].replace(
        "999999", "N"
    )


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("auditor", "/cases", 403),
        ("auditor", "/cases/{c}", 403),
        ("auditor", "/cases/{c}/track?" + RANGE, 403),
        ("admin", "/cases/{c}", 200),
        ("admin", "/cases/{c}/track?" + RANGE, 403),
        ("admin", "/cases/{c}/compliance?" + RANGE, 403),
        ("pros1", "/cases/{c}/track?" + RANGE, 200),
        ("police1", "/cases/{c}/track?" + RANGE, 200),
    ],
)
def test_role_limits(
    client: TestClient, seeded: world.World, token: Headers, user: str, path: str, status: int
) -> None:
    r = client.get(path.format(c=seeded.case_a), headers=token(user))
    assert r.status_code == status, r.text


@pytest.mark.parametrize(
    ("method", "path", "body", "user"),
    [
        ("PATCH", "/cases/{c}", {"legal_hold": True}, "police1"),
        ("POST", "/cases/{c}/status", {"status": "active", "note": "x x x"}, "pros1"),
        ("POST", "/cases/{c}/deposits", {}, "pros1"),
        ("POST", "/cases", {}, "police1"),
    ],
)
def test_write_role_limits(
    client: TestClient,
    seeded: world.World,
    token: Headers,
    method: str,
    path: str,
    body: dict[str, object],
    user: str,
) -> None:
    r = client.request(method, path.format(c=seeded.case_a), json=body, headers=token(user))
    assert r.status_code == 403
    assert r.json()["title"] == "Forbidden"


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        ("from=2026-11-01T00:00:00&to=2026-11-01T02:00:00Z&purpose=review+case", 400, "UTC offset"),
        ("from=2026-11-01T02:00:00Z&to=2026-11-01T00:00:00Z&purpose=review+case", 400, "after"),
        ("from=2025-01-01T00:00:00Z&to=2026-11-01T00:00:00Z&purpose=review+case", 400, "400 days"),
        ("from=2026-11-01T00:00:00Z&to=2026-11-01T02:00:00Z", 422, "purpose"),
        ("from=2026-11-01T00:00:00Z&to=2026-11-01T02:00:00Z&purpose=x", 422, "purpose"),
        ("from=yesterday&to=2026-11-01T02:00:00Z&purpose=review+case", 422, "from"),
        (RANGE + "&simplify=-3", 422, "simplify"),
    ],
)
def test_bad_track_input_is_a_clear_problem(
    client: TestClient, seeded: world.World, token: Headers, query: str, status: int, fragment: str
) -> None:
    r = client.get(f"/cases/{seeded.case_a}/track?{query}", headers=token("police1"))
    assert r.status_code == status
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert fragment in body["detail"]
    assert body["status"] == status


def test_case_list_is_scoped(client: TestClient, seeded: world.World, token: Headers) -> None:
    def ids(user: str) -> set[int]:
        return {c["id"] for c in client.get("/cases", headers=token(user)).json()["items"]}

    assert seeded.case_a in ids("police1")
    assert seeded.case_b not in ids("police1")
    assert ids("police2") == {seeded.case_b}
    assert ids("pros1") == {seeded.case_a}
    assert {seeded.case_a, seeded.case_b} <= ids("admin")
