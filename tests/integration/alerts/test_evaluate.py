"""Evaluation in a transaction against the real database: episodes, idempotency, conditions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from alerts.evaluate import EvaluationInput, Evaluator
from alerts.metrics import AlertMetrics
from config.settings import Settings
from ingest.models import Status
from store.pool import open_pool
from tests.integration.alerts.world import (
    AWAY,
    HOME,
    T0,
    add_circle_rule,
    build_world,
    ping,
    rows,
)


async def run_batches(settings: Settings, batches: list[EvaluationInput]) -> None:
    evaluator = Evaluator(settings.alerts, AlertMetrics())
    async with open_pool(settings.db, application_name="test") as pool:
        for batch in batches:
            async with pool.acquire() as conn, conn.transaction():
                await evaluator.run(conn, batch)


def alerts_of(settings: Settings, case_id: int) -> list[tuple[object, ...]]:
    return rows(
        settings,
        "SELECT kind, cleared_at IS NOT NULL, jsonb_array_length(evidence), id FROM alerts "
        "WHERE case_id = %(c)s ORDER BY id",
        {"c": case_id},
    )


def test_jittering_boundary_gives_one_alert_per_episode(settings: Settings) -> None:
    world = build_world(settings)
    add_circle_rule(settings, world, grace={"open_after_fixes": 2, "clear_after_fixes": 3})
    d = world.device_id
    # out, out (opens), in, out, in, out (jitter: never 3 in a row), in, in, in (clears)
    path = [AWAY, AWAY, HOME, AWAY, HOME, AWAY, HOME, HOME, HOME]
    pings = [ping(d, i, w) for i, w in enumerate(path)]
    batches = [EvaluationInput([p]) for p in pings]
    asyncio.run(run_batches(settings, batches + batches[:4]))  # redelivery of the first four
    found = alerts_of(settings, world.case_id)
    assert [(k, cleared) for k, cleared, _, _ in found] == [("left_permitted_area", True)]
    events = rows(
        settings,
        "SELECT kind FROM alert_events WHERE alert_id = %(a)s ORDER BY id",
        {"a": found[0][3]},
    )
    kinds = [e[0] for e in events]
    assert kinds[0] == "opened"
    assert kinds[-1] == "condition_cleared"
    outbox = rows(settings, "SELECT topic, payload FROM outbox ORDER BY id")
    assert [t for t, _ in outbox] == [f"alert.{e[0]}" for e in events]
    first = outbox[0][1]
    assert first["alert"]["id"] == found[0][3]
    assert first["alert"]["kind"] == "left_permitted_area"
    assert first["scope"]["unit_id"] == world.police_unit
    assert outbox[-1][1]["alert"]["cleared_at"] is not None


def test_strap_open_is_one_alert_until_closed(settings: Settings) -> None:
    world = build_world(settings)
    d = world.device_id
    s = [
        Status(d, T0 + timedelta(seconds=i), T0 + timedelta(seconds=i), 80, False, closed)
        for i, closed in enumerate([True, False, False, True])
    ]
    batches = [EvaluationInput([], statuses=[x]) for x in s]
    asyncio.run(run_batches(settings, batches + batches[1:2]))
    found = alerts_of(settings, world.case_id)
    assert [(k, cleared) for k, cleared, _, _ in found] == [("strap_opened", True)]
