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


def test_a_crossing_is_found_across_a_restart_and_only_crossing_devices_keep_tracks(
    settings: Settings,
) -> None:
    """West of the exclusion circle, then east of it a minute later, no fix inside: crossed. The
    second fix is evaluated by a new evaluator (a restarted ingester), which must get the first
    fix from the database. A case with only a stay_inside rule keeps no track row."""
    crossing = build_world(settings)
    add_circle_rule(settings, crossing, kind="stay_outside", radius_m=300.0)
    plain = build_world(settings)
    add_circle_rule(settings, plain, radius_m=100_000.0)
    west, east = (HOME[0] - 0.006, HOME[1]), (HOME[0] + 0.006, HOME[1])  # ~530 m either side
    first = [ping(crossing.device_id, 0, west), ping(plain.device_id, 0, west)]
    second = [ping(crossing.device_id, 6, east), ping(plain.device_id, 6, east)]
    asyncio.run(run_batches(settings, [EvaluationInput(first)]))
    asyncio.run(run_batches(settings, [EvaluationInput(second)]))
    assert [k for k, *_ in alerts_of(settings, crossing.case_id)] == ["crossed_exclusion_zone"]
    assert alerts_of(settings, plain.case_id) == []
    tracked = rows(
        settings,
        "SELECT device_id FROM geofence_tracks WHERE device_id = ANY(%(d)s)",
        {"d": [crossing.device_id, plain.device_id]},
    )
    assert tracked == [(crossing.device_id,)]
