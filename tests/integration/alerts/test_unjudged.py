"""No stored fix is left unjudged (issue 17): an evaluation that fails queues its fixes in the
same transaction, the sweeper judges them once evaluation works again, also after a restart,
and the alert is raised late, never dropped.

The failure is a real one: the rule's stored state is unreadable (a state row of an unknown
version), so the ingester cannot evaluate that case until an operator clears the row.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.settings import Settings
from tests.integration.alerts.world import AWAY, HOME, add_circle_rule, build_world, execute, rows
from tests.integration.ingest.helpers import fix, ingester, loc, metric, now_ms, with_metrics
from tests.support import services

pytestmark = pytest.mark.integration


def _queued(settings: Settings) -> int:
    return int(execute(settings, "SELECT count(*) FROM unjudged_fixes"))


def _alerts(settings: Settings, case_id: int) -> list[tuple[Any, ...]]:
    return rows(
        settings,
        "SELECT kind, started_at, late FROM alerts WHERE case_id = %(c)s ORDER BY id",
        {"c": case_id},
    )


def test_failed_evaluation_is_swept_after_repair_and_restart(settings: Settings) -> None:
    world = build_world(settings)
    rule_id = add_circle_rule(settings, world)
    execute(
        settings,
        "INSERT INTO geofence_state (case_id, rule_id, state) VALUES (%(c)s, %(r)s, %(s)s)",
        {"c": world.case_id, "r": rule_id, "s": json.dumps({"version": 99})},
    )
    d = world.device_id
    t0 = now_ms() - 600_000  # fixes a minute apart (no impossible jumps)
    path = [HOME, AWAY, AWAY]
    first = with_metrics(settings)
    with ingester(first) as proc:
        client = services.mqtt_client(settings)
        for i, (lon, lat) in enumerate(path):
            services.publish_all(client, [loc(d, fix(t0 + 60_000 * i, i, lon=lon, lat=lat))])
        services.wait_until(lambda: _queued(settings) == 3, timeout_s=20, what="fixes queued")
        services.wait_for_log(proc, "evaluation failed; its fixes are queued")
        assert metric(first, "bailwatch_fixes_unjudged_queued_total") == 3
        # the sweeper retries and fails too: nothing is dropped, nothing is raised
        services.wait_for_log(proc, "sweeper evaluation failed; the fixes stay queued")
        assert _queued(settings) == 3
        assert _alerts(settings, world.case_id) == []
        # a later fix of the device waits behind the queued ones (arrival order is kept)
        services.publish_all(client, [loc(d, fix(t0 + 180_000, 3, lon=AWAY[0], lat=AWAY[1]))])
        services.wait_until(lambda: _queued(settings) == 4, timeout_s=20, what="queued behind")
        client.disconnect()
    # the operator clears the unreadable state while no ingester runs; a new one sweeps
    execute(settings, "DELETE FROM geofence_state WHERE rule_id = %(r)s", {"r": rule_id})
    second = with_metrics(settings)
    with ingester(second) as proc:
        services.wait_until(lambda: _queued(settings) == 0, timeout_s=20, what="queue swept")
        services.wait_for_log(proc, "swept unjudged fixes")
        assert metric(second, "bailwatch_fixes_swept_total") == 4
    found = _alerts(settings, world.case_id)
    assert [(k, int(s.timestamp() * 1000)) for k, s, _ in found] == [
        ("left_permitted_area", t0 + 60_000)
    ]
