"""Over MQTT, through the ingester: the same verdict whatever the batching (issue 17, finding 7)
and a rule added through the API's store function judges a fix published a second later
(finding 8).

The reported case: a watch sends its current fix (5 km out of an exclusion zone) and then its
offline buffer (inside the zone). As one message, as two messages back to back (one batch, as a
rule), or with the second sent after the first is stored: the same late alert, with the
buffer's real span, and no episode left open.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from api.auth.models import Principal, Role
from api.rules import service as rules
from api.rules.models import RuleIn
from config.settings import Settings
from store.pool import open_pool
from tests.integration.alerts.world import (
    AWAY,
    HOME,
    World,
    add_circle_rule,
    build_world,
    execute,
    rows,
)
from tests.integration.ingest.helpers import fix, ingester, loc, now_ms, with_metrics
from tests.support import services

pytestmark = pytest.mark.integration


def _messages(device: str, t0: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The current fix (away) and a five-fix buffer from before it (at home), a minute apart."""
    current = fix(t0 + 600_000, 20, lon=AWAY[0], lat=AWAY[1])
    buffer = [fix(t0 + 60_000 * k, 10 + k, lon=HOME[0], lat=HOME[1]) for k in range(5)]
    return current, buffer


def _verdict(settings: Settings, world: World, t0: int) -> list[tuple[Any, ...]]:
    found = rows(
        settings,
        "SELECT kind, started_at, cleared_at, late FROM alerts WHERE case_id = %(c)s ORDER BY id",
        {"c": world.case_id},
    )
    return [
        (k, int(s.timestamp() * 1000) - t0, c and int(c.timestamp() * 1000) - t0, late)
        for k, s, c, late in found
    ]


def test_current_fix_then_buffer_gives_one_late_alert_whatever_the_batching(
    settings: Settings,
) -> None:
    worlds = [build_world(settings) for _ in range(3)]
    for w in worlds:
        add_circle_rule(settings, w, kind="stay_outside", radius_m=1000.0)
    t0 = now_ms() - 900_000
    with ingester(with_metrics(settings)):
        client = services.mqtt_client(settings)
        one, two, apart = worlds
        current, buffer = _messages(one.device_id, t0)
        services.publish_all(client, [loc(one.device_id, [current, *buffer])])
        current, buffer = _messages(two.device_id, t0)
        services.publish_all(client, [loc(two.device_id, current), loc(two.device_id, buffer)])
        current, buffer = _messages(apart.device_id, t0)
        services.publish_all(client, [loc(apart.device_id, current)])
        services.wait_until(
            lambda: execute(
                settings, "SELECT count(*) FROM pings WHERE device_id = %(d)s",
                {"d": apart.device_id},
            ) == 1,
            timeout_s=20, what="the current fix stored",
        )  # fmt: skip
        services.publish_all(client, [loc(apart.device_id, buffer)])
        services.wait_until(
            lambda: all(_verdict(settings, w, t0) for w in worlds), timeout_s=20, what="alerts"
        )
        client.disconnect()
    expected = [("entered_exclusion_zone", 0, 240_000, True)]
    assert [_verdict(settings, w, t0) for w in worlds] == [expected] * 3
    states = rows(
        settings,
        "SELECT state->>'condition' FROM geofence_state WHERE case_id = ANY(%(c)s)",
        {"c": [w.case_id for w in worlds]},
    )
    assert sorted(states) == [("compliant",)] * 3


async def _add_rule(settings: Settings, world: World, zone_id: int) -> int:
    async with (
        open_pool(settings.db, application_name="test-rules") as pool,
        pool.acquire() as conn,
    ):
        return await _create(conn, world, zone_id)


async def _create(conn: asyncpg.Connection, world: World, zone_id: int) -> int:
    """A stay_outside rule on ``zone_id`` through the API's store function (as POST
    /cases/{id}/rules does), by the case's supervisor."""
    principal = Principal(world.supervisor_id, "sup", Role.supervisor, world.police_unit)
    rule = RuleIn.model_validate(
        {"kind": "stay_outside", "zone_id": zone_id,
         "grace": {"open_after_fixes": 1, "clear_after_fixes": 1}}
    )  # fmt: skip
    row = await rules.create(conn=conn, principal=principal, case_id=world.case_id, rule=rule)
    return int(row["id"])


def test_a_rule_added_judges_a_fix_published_one_second_later(settings: Settings) -> None:
    world = build_world(settings)
    add_circle_rule(settings, world, kind="stay_inside", radius_m=20_000.0)
    zone = int(
        execute(
            settings,
            "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) VALUES (%(u)s, 'victim',"
            ' \'circle\', \'{"type": "Point", "coordinates": [118.6749, 37.434]}\', 300) '
            "RETURNING id",
            {"u": world.police_unit},
        )
    )
    d = world.device_id
    with ingester(with_metrics(settings)) as proc:
        client = services.mqtt_client(settings)
        services.publish_all(client, [loc(d, fix(now_ms() - 60_000, 1, lon=AWAY[0], lat=AWAY[1]))])
        services.wait_until(
            lambda: execute(settings, "SELECT count(*) FROM pings WHERE device_id = %(d)s",
                            {"d": d}) == 1,
            timeout_s=20, what="first fix stored",
        )  # fmt: skip
        rule_id = asyncio.run(_add_rule(settings, world, zone))
        at = now_ms() + 1000
        services.wait_until(lambda: now_ms() >= at, timeout_s=2, what="one second")
        services.publish_all(client, [loc(d, fix(at, 2, lon=HOME[0], lat=HOME[1]))])
        services.wait_until(
            lambda: bool(
                execute(settings, "SELECT count(*) FROM alerts WHERE rule_id = %(r)s",
                        {"r": rule_id})
            ),
            timeout_s=5, what="the new rule's alert",
        )  # fmt: skip
        client.disconnect()
        log = services.process_log(proc)
    loads = [json.loads(line) for line in log.splitlines() if '"ruleset loaded"' in line]
    assert len(loads) >= 2  # the start-up load and the reload after the rule was added
    reload_s = loads[-1]["seconds"]
    print(f"reload after the rule was added: {reload_s} s")  # the figure, with pytest -s
    assert reload_s < 1.0
    found = rows(
        settings, "SELECT started_at, kind FROM alerts WHERE rule_id = %(r)s", {"r": rule_id}
    )
    assert [(int(s.timestamp() * 1000), k) for s, k in found] == [(at, "entered_exclusion_zone")]
