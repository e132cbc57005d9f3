"""Cancelling leave permits: withdrawal and cancellation by the right roles, refused transitions,
and the effect on evaluation through the real database (the rule a permit suspended applies
again from the cancellation; fixes from before it stay covered)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from alerts.evaluate import EvaluationInput, Evaluator
from alerts.metrics import AlertMetrics
from config.settings import Settings
from ingest.models import Ping
from store import alert_config
from store.pool import open_pool
from tests.integration.api import world

pytestmark = pytest.mark.integration

Headers = Callable[[str], dict[str, str]]
HOME = world.CENTRE
#: Well outside the city square (0.2 degrees around the centre).
AWAY = (world.CENTRE[0] + 0.5, world.CENTRE[1])
_TAGS = itertools.count(1)


def _case(settings: Settings, seeded: world.World) -> tuple[int, int, str]:
    """A case of station P1 (prosecutor pros1) with its own watch and a stay-inside rule on the
    city square that opens and clears after two fixes; returns (case, rule, device)."""
    tag = next(_TAGS)
    device = f"W-CANCEL-{tag}"
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        person = conn.execute(
            "INSERT INTO persons (full_name, unit_id) VALUES (%s, %s) RETURNING id",
            (f"Person {tag}", seeded.units["P1"]),
        ).fetchone()
        assert person
        case = conn.execute(
            "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id, "
            "procuratorate_unit_id, prosecutor_user_id, period_start, period_end) VALUES "
            "(%s, %s, 'bail', 'active', %s, %s, %s, '2026-10-01', '2027-09-30') RETURNING id",
            (f"C-{tag}", person[0], seeded.units["P1"], seeded.units["PROC"],
             seeded.users["pros1"]),
        ).fetchone()  # fmt: skip
        assert case
        rule = conn.execute(
            "INSERT INTO case_rules (case_id, kind, zone_id, grace) "
            "VALUES (%s, 'stay_inside', %s, %s) RETURNING id",
            (case[0], seeded.zone_city, Jsonb({"open_after_fixes": 2, "clear_after_fixes": 2})),
        ).fetchone()
        assert rule
        conn.execute(
            "INSERT INTO devices (id, unit_id) VALUES (%s, %s)", (device, seeded.units["P1"])
        )
        conn.execute(
            "INSERT INTO device_assignments (device_id, case_id, valid_from) "
            "VALUES (%s, %s, now() - interval '1 day')",
            (device, case[0]),
        )
    return case[0], rule[0], device


def _permit(
    client: TestClient,
    token: Headers,
    case_id: int,
    rule_id: int,
    start: datetime,
    end: datetime,
    *,
    approve: bool = True,
) -> int:
    """A leave entered by police1 suspending ``rule_id`` over [start, end), approved by pros1."""
    r = client.post(
        f"/cases/{case_id}/permits", headers=token("police1"),
        json={"reason": "father's funeral", "window_start": start.isoformat(),
              "window_end": end.isoformat(), "suspended_rule_ids": [rule_id]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    permit = int(r.json()["id"])
    if approve:
        ok = client.post(f"/permits/{permit}/approve", json={}, headers=token("pros1"))
        assert ok.status_code == 200, ok.text
    return permit


def _cancel(client: TestClient, token: Headers, permit: int, user: str) -> dict[str, object]:
    r = client.post(
        f"/permits/{permit}/cancel", json={"note": "recalled by the station"}, headers=token(user)
    )
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_withdraw_and_cancel_by_the_responsible_roles(
    api_settings: Settings, seeded: world.World, client: TestClient, token: Headers
) -> None:
    case_id, rule, _ = _case(api_settings, seeded)
    now = _now()
    requested = _permit(client, token, case_id, rule, now + timedelta(hours=1),
                        now + timedelta(hours=3), approve=False)  # fmt: skip
    withdrawn = _cancel(client, token, requested, "police1")
    assert withdrawn["status"] == "cancelled"
    assert withdrawn["cancelled_by"] == seeded.users["police1"]
    assert withdrawn["cancel_note"] == "recalled by the station"
    assert withdrawn["cancelled_at"] is not None
    assert (withdrawn["ended_at"], withdrawn["decided_by"]) == (None, None)

    ahead = _permit(
        client, token, case_id, rule, now + timedelta(hours=1), now + timedelta(hours=3)
    )
    assert client.post(
        f"/permits/{ahead}/cancel", json={"note": "no longer needed"}, headers=token("police1")
    ).status_code == 403  # fmt: skip
    before_window = _cancel(client, token, ahead, "pros1")
    assert (before_window["status"], before_window["ended_at"]) == ("cancelled", None)
    assert before_window["decided_by"] == seeded.users["pros1"], "the decision stays on record"

    during = _permit(
        client, token, case_id, rule, now - timedelta(hours=1), now + timedelta(hours=1)
    )
    cut = _cancel(client, token, during, "super1")
    ended_at = datetime.fromisoformat(str(cut["ended_at"]))
    assert now - timedelta(hours=1) < ended_at < now + timedelta(minutes=1)
    assert cut["cancelled_at"] == cut["ended_at"]
    assert cut["cancelled_by"] == seeded.users["super1"]
    listed = client.get("/permits?status=cancelled", headers=token("pros1")).json()["items"]
    assert {requested, ahead, during} <= {p["id"] for p in listed}


def test_refused_transitions_are_conflicts(
    api_settings: Settings, seeded: world.World, client: TestClient, token: Headers
) -> None:
    case_id, rule, _ = _case(api_settings, seeded)
    now = _now()
    rejected = _permit(client, token, case_id, rule, now, now + timedelta(hours=2), approve=False)
    r = client.post(f"/permits/{rejected}/reject", json={"note": "no"}, headers=token("super1"))
    assert r.status_code == 200
    ended = _permit(
        client, token, case_id, rule, now - timedelta(hours=3), now - timedelta(hours=1)
    )
    cancelled = _permit(client, token, case_id, rule, now + timedelta(hours=1),
                        now + timedelta(hours=2))  # fmt: skip
    _cancel(client, token, cancelled, "super1")
    for permit, fragment in ((rejected, "rejected already"), (ended, "ended at"),
                             (cancelled, "cancelled already")):  # fmt: skip
        r = client.post(
            f"/permits/{permit}/cancel", json={"note": "try again"}, headers=token("pros1")
        )
        assert r.status_code == 409, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert (problem["status"], problem["title"]) == (409, "Conflict")
        assert fragment in problem["detail"]
    again = client.get(f"/permits/{ended}", headers=token("pros1")).json()
    assert (again["status"], again["cancelled_at"]) == ("approved", None)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(None, "body"), ({}, "note"), ({"note": "   "}, "note"), ({"note": "ok"}, "note"),
     ({"note": "valid note", "ended_at": "2026-11-22T00:00:00Z"}, "ended_at")],
)  # fmt: skip
def test_bad_cancellation_input(
    api_settings: Settings,
    seeded: world.World,
    client: TestClient,
    token: Headers,
    body: dict[str, object] | None,
    fragment: str,
) -> None:
    case_id, rule, _ = _case(api_settings, seeded)
    permit = _permit(client, token, case_id, rule, _now(), _now() + timedelta(hours=1))
    r = client.post(f"/permits/{permit}/cancel", json=body, headers=token("super1"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert fragment in r.json()["detail"]


def _ping(device: str, at: datetime, seq: int, where: tuple[float, float]) -> Ping:
    return Ping(device, at, seq, at + timedelta(seconds=1), where[0], where[1], 8.0, "gnss")


def _evaluate(settings: Settings, evaluator: Evaluator, pings: list[Ping]) -> None:
    async def run() -> None:
        async with open_pool(settings.db, application_name="test") as pool:
            for p in pings:
                async with pool.acquire() as conn, conn.transaction():
                    await evaluator.run(conn, EvaluationInput([p]))

    asyncio.run(run())


def _alerts(settings: Settings, case_id: int) -> list[tuple[object, ...]]:
    with psycopg.connect(settings.db.dsn()) as conn:
        return conn.execute(
            "SELECT a.kind, a.late, e.data->>'permit_id' FROM alerts a JOIN alert_events e "
            "ON e.alert_id = a.id AND e.kind = 'opened' WHERE a.case_id = %s ORDER BY a.id",
            (case_id,),
        ).fetchall()


def test_cancelled_during_window_the_rule_applies_again_and_a_return_is_due(
    api_settings: Settings, seeded: world.World, client: TestClient, token: Headers
) -> None:
    """Away under an approved permit: nothing. Cancelled while still away: the suspended rule
    applies from the cancellation and the defendant is overdue. Fixes from before the
    cancellation that arrive late stay covered by the permit."""
    case_id, rule, device = _case(api_settings, seeded)
    now = _now()
    permit = _permit(
        client, token, case_id, rule, now - timedelta(hours=1), now + timedelta(hours=2)
    )
    evaluator = Evaluator(api_settings.alerts, AlertMetrics())
    away = [_ping(device, now - timedelta(minutes=50 - 5 * i), i, AWAY) for i in range(4)]
    _evaluate(api_settings, evaluator, away)
    assert _alerts(api_settings, case_id) == [], "the permit suspends the rule"

    with psycopg.connect(api_settings.db.dsn()) as conn:
        version = conn.execute(alert_config.SELECT_VERSION).fetchone()
    ended_at = datetime.fromisoformat(str(_cancel(client, token, permit, "super1")["ended_at"]))
    with psycopg.connect(api_settings.db.dsn()) as conn:
        assert conn.execute(alert_config.SELECT_VERSION).fetchone() != version
    after = [
        _ping(device, ended_at + timedelta(seconds=10 * (i + 1)), 10 + i, AWAY) for i in range(3)
    ]
    late = [_ping(device, now - timedelta(minutes=30 - i), 20 + i, AWAY) for i in range(3)]
    _evaluate(api_settings, evaluator, after + late)
    assert _alerts(api_settings, case_id) == [("overdue_return", False, str(permit))]


def test_cancelled_while_already_back_raises_nothing(
    api_settings: Settings, seeded: world.World, client: TestClient, token: Headers
) -> None:
    """Back home before the permit is cut short: one fix at home after the cancellation settles
    the return, so leaving again afterwards is an ordinary violation of the rule the permit had
    suspended, not an overdue return."""
    case_id, rule, device = _case(api_settings, seeded)
    now = _now()
    permit = _permit(
        client, token, case_id, rule, now - timedelta(hours=1), now + timedelta(hours=2)
    )
    evaluator = Evaluator(api_settings.alerts, AlertMetrics())
    trip = [AWAY, AWAY, AWAY, HOME, HOME]
    away_then_back = [
        _ping(device, now - timedelta(minutes=50 - 5 * i), i, w) for i, w in enumerate(trip)
    ]
    _evaluate(api_settings, evaluator, away_then_back)
    ended_at = datetime.fromisoformat(str(_cancel(client, token, permit, "pros1")["ended_at"]))
    _evaluate(api_settings, evaluator, [_ping(device, ended_at + timedelta(seconds=10), 10, HOME)])
    assert _alerts(api_settings, case_id) == []
    left = [_ping(device, ended_at + timedelta(minutes=5 + i), 20 + i, AWAY) for i in range(2)]
    _evaluate(api_settings, evaluator, left)
    assert _alerts(api_settings, case_id) == [("left_permitted_area", False, None)]
