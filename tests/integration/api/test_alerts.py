"""Alerts through the API: scoped lists and filters, acknowledge, resolve, the timeline."""

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


@pytest.fixture
def alert(api_settings: Settings, seeded: world.World) -> int:
    return world.insert_alert(api_settings, seeded.case_a, seeded.units["P1"], severity="critical")


def test_lists_are_scoped_and_filtered(
    api_settings: Settings, seeded: world.World, client: TestClient, token: Headers
) -> None:
    a = world.insert_alert(api_settings, seeded.case_a, seeded.units["P1"], kind="no_signal")
    b = world.insert_alert(api_settings, seeded.case_b, seeded.units["P2"], kind="no_signal")
    late = world.insert_alert(
        api_settings, seeded.case_a, seeded.units["P1"], kind="no_signal",
        opened_at=world.T0 + timedelta(days=3),
    )  # fmt: skip

    def ids(user: str, query: str = "kind=no_signal") -> list[int]:
        r = client.get(f"/alerts?{query}", headers=token(user))
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert ids("police1") == [late, a]
    assert ids("super2") == [b]
    assert ids("pros1") == [late, a]  # the case of their procuratorate
    assert ids("police1", "kind=no_signal&since=2026-11-02T00:00:00Z") == [late]
    assert ids("police1", "kind=no_signal&until=2026-11-02T00:00:00%2B00:00") == [a]
    assert ids("police1", f"kind=no_signal&case_id={seeded.case_b}") == []
    assert ids("police1", "kind=no_signal&severity=low") == []
    first = client.get("/alerts?kind=no_signal&limit=1", headers=token("police1")).json()
    nxt = client.get(
        f"/alerts?kind=no_signal&limit=1&cursor={first['next_cursor']}", headers=token("police1")
    ).json()
    assert [first["items"][0]["id"], nxt["items"][0]["id"]] == [late, a]
    assert nxt["next_cursor"] is None


def test_acknowledge_then_resolve(
    api_settings: Settings, client: TestClient, token: Headers, alert: int
) -> None:
    r = client.post(f"/alerts/{alert}/acknowledge", headers=token("police1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] is not None
    again = client.post(f"/alerts/{alert}/acknowledge", headers=token("super1"))
    assert again.status_code == 409
    assert "already" in again.json()["detail"]
    r = client.post(
        f"/alerts/{alert}/resolve", headers=token("super1"),
        json={"disposition": "violation_confirmed", "note": "left the county; reported"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["disposition"]) == ("resolved", "violation_confirmed")
    assert [e["kind"] for e in body["events"]] == ["acknowledged", "resolved"]
    assert body["events"][1]["data"]["note"] == "left the county; reported"
    final = client.post(
        f"/alerts/{alert}/resolve", headers=token("super1"),
        json={"disposition": "false_alarm", "note": "again"},
    )  # fmt: skip
    assert final.status_code == 409
    assert "final" in final.json()["detail"]
    metrics = client.get("/metrics").text
    assert 'bailwatch_alert_ack_seconds_count{severity="critical"}' in metrics
    with psycopg.connect(api_settings.db.dsn()) as conn:
        n = conn.execute("SELECT count(*) FROM alert_events WHERE alert_id = %s", (alert,))
        assert n.fetchone() == (2,)


def test_resolve_from_open_records_implicit_acknowledgement(
    client: TestClient, token: Headers, alert: int
) -> None:
    r = client.post(
        f"/alerts/{alert}/resolve", headers=token("police1"),
        json={"disposition": "technical_fault", "note": "watch reset at 03:10"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acknowledged_at"] == body["resolved_at"]
    assert (body["events"][0]["kind"], body["events"][0]["data"]) == (
        "acknowledged", {"implicit": True},
    )  # fmt: skip
    detail = client.get(f"/alerts/{alert}", headers=token("pros1")).json()
    assert len(detail["events"]) == 2
