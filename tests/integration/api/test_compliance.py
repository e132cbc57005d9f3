"""The compliance report's contract over HTTP: scoped, audited, the whole measure in one read,
the printable page (deposits over HTTP: test_deposits.py).

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
