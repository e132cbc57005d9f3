"""The evaluator's state cache against the real database: several ingesters, a rolled-back
transaction and a restart see the states the database holds, never a stale copy of their own."""

from __future__ import annotations

import asyncio

import pytest

from alerts.evaluate import EvaluationInput, Evaluator
from alerts.metrics import AlertMetrics
from config.settings import Settings
from ingest.models import Ping
from store.pool import open_pool
from tests.integration.alerts.world import (
    AWAY,
    HOME,
    add_circle_rule,
    build_world,
    ping,
    rows,
)

pytestmark = pytest.mark.integration


class RollbackError(Exception):
    """Raised inside a transaction to roll it back."""


async def evaluate(settings: Settings, steps: list[tuple[Evaluator, Ping, bool]]) -> None:
    """Each step: one evaluator evaluates one fix, committed (True) or rolled back (False)."""
    async with open_pool(settings.db, application_name="test") as pool:
        for evaluator, p, commit in steps:
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await evaluator.run(conn, EvaluationInput([p]))
                    if not commit:
                        raise RollbackError
            except RollbackError:
                pass


def alerts_of(settings: Settings, case_id: int) -> list[tuple[object, ...]]:
    return rows(
        settings,
        "SELECT started_at, cleared_at IS NOT NULL, late FROM alerts WHERE case_id = %(c)s "
        "ORDER BY id",
        {"c": case_id},
    )


def test_two_ingesters_alternating_see_each_others_states(settings: Settings) -> None:
    world = build_world(settings)
    add_circle_rule(settings, world)
    d = world.device_id
    a = Evaluator(settings.alerts, AlertMetrics())
    b = Evaluator(settings.alerts, AlertMetrics())
    path = [HOME, AWAY, AWAY, HOME, AWAY, HOME]
    steps = [(a if i % 2 == 0 else b, ping(d, i, w), True) for i, w in enumerate(path)]
    steps.append((a, ping(d, 1, AWAY), True))  # a redelivered fix, to the other ingester
    asyncio.run(evaluate(settings, steps))
    found = alerts_of(settings, world.case_id)
    assert found == [
        (ping(d, 1, AWAY).fix_time, True, False),
        (ping(d, 4, AWAY).fix_time, True, False),
    ]


def test_a_rolled_back_evaluation_is_forgotten(settings: Settings) -> None:
    world = build_world(settings)
    add_circle_rule(settings, world)
    d = world.device_id
    e = Evaluator(settings.alerts, AlertMetrics())
    away = ping(d, 1, AWAY)
    asyncio.run(
        evaluate(settings, [(e, ping(d, 0, HOME), True), (e, away, False), (e, away, True)])
    )
    assert alerts_of(settings, world.case_id) == [(away.fix_time, False, False)]


def test_a_restarted_ingester_knows_the_watermark_of_steady_states(settings: Settings) -> None:
    world = build_world(settings)
    add_circle_rule(settings, world)
    d = world.device_id
    first = Evaluator(settings.alerts, AlertMetrics())
    steady = [(first, ping(d, i, HOME), True) for i in (0, 2, 4, 6)]
    late = ping(d, 3, AWAY)  # older than the newest fix evaluated: found late
    asyncio.run(
        evaluate(settings, [*steady, (Evaluator(settings.alerts, AlertMetrics()), late, True)])
    )
    assert alerts_of(settings, world.case_id) == [(late.fix_time, True, True)]
