"""The compliance report's contract over HTTP: scoped, audited, the whole measure in one read,
the printable page; and deposits over HTTP.

Verdicts (codes, points, coverage) are proven through the real path, from a watch publishing
over MQTT to this report, in ``tests/integration/verdicts``; nothing here inserts an alert.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration
Headers = Callable[[str], dict[str, str]]
PURPOSE = "custody necessity review"


def _q(days: float, purpose: str = PURPOSE) -> dict[str, str]:
    start = world.T0 - timedelta(days=days) + timedelta(hours=2)
    return {
        "from": start.isoformat(),
        "to": (world.T0 + timedelta(hours=2)).isoformat(),
        "purpose": purpose,
    }


def test_the_report_is_scoped_to_the_callers_unit_and_every_read_is_logged(
    client: TestClient, seeded: world.World, token: Headers, api_settings: Settings
) -> None:
    url = f"/cases/{seeded.case_a}/compliance"
    purpose = "custody necessity review: scope"
    r = client.get(url, params=_q(1, purpose), headers=token("pros1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["case_number"] == "A-1"
    assert body["coverage"]["received_fixes"] <= body["coverage"]["expected_fixes"]
    assert all(p["row"] for p in body["points"])
    assert client.get(url, params=_q(1, purpose), headers=token("police2")).status_code == 404
    assert client.get(url, params=_q(1, purpose), headers=token("admin")).status_code == 403
    unexplained = client.get(url, params={**_q(1), "purpose": ""}, headers=token("pros1"))
    assert unexplained.status_code == 422
    with psycopg.connect(api_settings.db.dsn()) as conn:
        logged = conn.execute(
            "SELECT count(*) FROM access_log WHERE case_id = %s AND action = 'compliance.read' "
            "AND purpose = %s",
            (seeded.case_a, purpose),
        ).fetchone()
    assert logged == (1,)  # the refused reads are not in it


@pytest.mark.parametrize("path", ["compliance", "track", "track.csv", "track.gpx"])
def test_a_read_may_span_the_whole_measure_and_no_more(
    client: TestClient, seeded: world.World, token: Headers, path: str
) -> None:
    """Bail runs up to 12 months: the report and the exports it relies on read 400 days in one
    request; a longer range (no other bound) is refused with a problem detail."""
    url = f"/cases/{seeded.case_a}/{path}"
    whole = client.get(url, params=_q(400), headers=token("pros1"))
    assert whole.status_code == 200, whole.text
    too_long = client.get(url, params=_q(400.5), headers=token("pros1"))
    assert too_long.status_code == 400
    assert too_long.headers["content-type"].startswith("application/problem+json")
    assert "at most 400 days" in too_long.json()["detail"]
    naive = client.get(url, params={**_q(1), "from": "2026-10-31T08:00:00"}, headers=token("pros1"))
    assert naive.status_code == 400
    assert "UTC offset" in naive.json()["detail"]


def test_the_printable_report_renders(
    client: TestClient, seeded: world.World, token: Headers
) -> None:
    r = client.get(
        f"/cases/{seeded.case_a}/compliance.html", params=_q(1), headers=token("police1")
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "A-1" in r.text


def test_deposit_lifecycle_over_http(
    client: TestClient, seeded: world.World, token: Headers
) -> None:
    base = f"/cases/{seeded.case_a}/deposits"
    doc = {"document_number": "东公(取)决字〔2026〕12号", "document_date": "2026-11-01"}
    r = client.post(
        base,
        headers=token("police1"),
        json={
            **doc,
            "kind": "bail",
            "amount_fen": 2_000_000,
            "payer": "Person A",
            "account_number": "6222000011112222",
            "account_holder": "东营分局保证金专户",
        },
    )
    assert r.status_code == 201, r.text
    dep = r.json()
    assert dep["status"] == "pending"
    assert dep["events"][0]["kind"] == "decided"
    url = f"{base}/{dep['id']}/events"
    bad = client.post(
        url, headers=token("police1"), json={**doc, "kind": "refunded", "amount_fen": 2_000_000}
    )
    assert bad.status_code == 409
    assert "pending cannot be refunded" in bad.json()["detail"]
    assert (
        client.post(
            url, headers=token("police1"), json={**doc, "kind": "received", "amount_fen": 2_000_000}
        ).json()["status"]
        == "held"
    )
    part = client.post(
        url, headers=token("super1"), json={**doc, "kind": "forfeited", "amount_fen": 500_000}
    )
    assert part.json()["status"] == "forfeited_in_part"
    assert part.json()["held_fen"] == 1_500_000
    floaty = client.post(
        url, headers=token("police1"), json={**doc, "kind": "refunded", "amount_fen": 1.5}
    )
    assert floaty.status_code == 422
    done = client.get(f"{base}/{dep['id']}", headers=token("pros1")).json()
    assert [e["kind"] for e in done["events"]] == ["decided", "received", "forfeited"]
    escrow = client.post(
        base,
        headers=token("police1"),
        json={
            **doc,
            "kind": "escrow",
            "amount_fen": 100,
            "payer": "P",
            "account_number": "1",
            "account_holder": "公证处",
            "notary_unit_id": seeded.units["P1"],
        },
    )
    assert escrow.status_code == 400
    assert "notary" in escrow.json()["detail"]
