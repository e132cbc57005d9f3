"""Rules and zones added and retired while fixes stream over MQTT (issue 17, finding 4): every
stored fix is judged exactly once, against the rules in force at its fix time.

Three watches report a fix every 30 s of device time (published back to back); every few fixes a
zone and a stay_outside rule on it are added through the API's store function, or a rule added
earlier is retired (``valid_to``), taking effect from the next fix's time: the configuration
changes while the ingester is evaluating the fixes before it. The alerts must then be those of
the reference engine (``geofence.reference``) run afterwards over the stored fixes with the final
rule history, no fix may be left queued, and no evaluation may have failed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from alerts.ruleset import rule_from, zone_from
from api.auth.models import Principal, Role
from api.rules import service as rules
from api.rules.models import RuleIn, RulePatch
from config.settings import Settings
from geofence.events import EventKind
from geofence.models import Fix
from geofence.reference import ReferenceEngine
from store.pool import open_pool
from tests.integration.alerts.world import HOME, World, add_circle_rule, build_world, rows
from tests.integration.ingest.helpers import fix, ingester, loc, metric, now_ms, with_metrics
from tests.support import services

pytestmark = pytest.mark.integration

#: Metres east of HOME a watch may be at; it moves to a neighbour or stays.
PLACES = [700.0, 970.0, 1030.0, 1300.0]
M_PER_DEG_LON = 111_320.0 * 0.7937  # at 37.43 N
FIXES = 48


def _walk(k: int) -> list[float]:
    """A deterministic walk over ``PLACES`` (different per watch)."""
    i, out = k % len(PLACES), []
    for n in range(FIXES):
        out.append(PLACES[i])
        step = ((n * 7 + k * 3) % 5) - 2
        i = min(max(i + (1 if step > 0 else -1 if step < 0 else 0), 0), len(PLACES) - 1)
    return out


async def _churn(
    settings: Settings, worlds: list[World], t0: int, walks: list[list[float]]
) -> None:
    async with open_pool(settings.db, application_name="test-churn") as pool:
        client = services.mqtt_client(settings)
        added: list[tuple[World, int]] = []
        for n in range(FIXES):
            services.publish_all(
                client,
                [
                    loc(w.device_id, fix(t0 + 30_000 * n, n, lon=_lon(walk[n]), lat=HOME[1], acc=3))
                    for w, walk in zip(worlds, walks, strict=True)
                ],
            )
            if n % 4 == 1:
                w = worlds[n % len(worlds)]
                since = datetime.fromtimestamp((t0 + 30_000 * (n + 1)) / 1000, UTC)
                async with pool.acquire() as conn:
                    if n % 8 == 1 or not added:
                        added.append((w, await _add(conn, w, since, 200.0 + 40 * (n % 5))))
                    else:
                        old, rule_id = added.pop(0)
                        await rules.amend(
                            conn=conn, principal=_boss(old), case_id=old.case_id,
                            rule_id=rule_id, patch=RulePatch(valid_to=since),
                        )  # fmt: skip
        client.disconnect()


def _lon(east_m: float) -> float:
    return HOME[0] + east_m / M_PER_DEG_LON


def _boss(w: World) -> Principal:
    return Principal(w.supervisor_id, "sup", Role.supervisor, w.police_unit)


async def _add(conn: asyncpg.Connection, w: World, since: datetime, radius_m: float) -> int:
    """A circle zone round the boundary region and a stay_outside rule on it from ``since``."""
    zone = await conn.fetchval(
        "INSERT INTO zones (unit_id, name, kind, geometry, radius_m) "
        "VALUES ($1, 'churn', 'circle', $2, $3) RETURNING id",
        w.police_unit, {"type": "Point", "coordinates": [_lon(1000.0), HOME[1]]}, radius_m,
    )  # fmt: skip
    rule = RuleIn.model_validate(
        {"kind": "stay_outside", "zone_id": zone, "valid_from": since.isoformat(),
         "grace": {"open_after_fixes": 2, "clear_after_fixes": 2}}
    )  # fmt: skip
    row = await rules.create(conn=conn, principal=_boss(w), case_id=w.case_id, rule=rule)
    return int(row["id"])


def _reference(settings: Settings, worlds: list[World]) -> list[tuple[Any, ...]]:
    """The reference engine's episodes over the stored fixes with the final rule history."""
    cases = [w.case_id for w in worlds]
    rule_rows = rows(
        settings,
        "SELECT id, case_id, kind, zone_id, grace, schedule, params, severity, valid_from, "
        "valid_to FROM case_rules WHERE case_id = ANY(%(c)s)",
        {"c": cases},
    )
    keys = ["id", "case_id", "kind", "zone_id", "grace", "schedule", "params", "severity",
            "valid_from", "valid_to"]  # fmt: skip
    engine_rules = [rule_from(dict(zip(keys, r, strict=True)), "Asia/Shanghai") for r in rule_rows]
    zone_rows = rows(
        settings,
        "SELECT id, name, kind, geometry, radius_m, width_m FROM zones WHERE id = ANY(%(z)s)",
        {"z": [r.zone_id for r in engine_rules]},
    )
    zkeys = ["id", "name", "kind", "geometry", "radius_m", "width_m"]
    ref = ReferenceEngine()
    ref.set_rules(engine_rules, [zone_from(dict(zip(zkeys, z, strict=True))) for z in zone_rows])
    fixes = rows(
        settings,
        "SELECT device_id, case_id, fix_time, seq, lon, lat, acc, src, received_at FROM pings "
        "WHERE case_id = ANY(%(c)s) ORDER BY fix_time, device_id",
        {"c": cases},
    )
    opened: dict[str, list[Any]] = {}
    for f in fixes:
        d, c, t, n, lon, lat, acc, src, received = f
        for ev in ref.evaluate([Fix(d, c, t, n, lon, lat, float(acc), src, received)]):
            if ev.kind is EventKind.EPISODE_OPENED:
                opened[ev.episode_key] = [ev.rule_id, ev.start, None, False]
            elif ev.kind is EventKind.EPISODE_CLEARED:
                opened[ev.episode_key][2] = ev.end
            elif ev.kind is EventKind.LATE_VIOLATION:
                opened[ev.episode_key] = [ev.rule_id, ev.start, ev.end, True]
    return sorted(tuple(v) for v in opened.values())


def test_rule_and_zone_churn_while_fixes_stream(settings: Settings) -> None:
    worlds = [build_world(settings) for _ in range(3)]
    for w in worlds:
        add_circle_rule(
            settings, w, radius_m=1000.0, grace={"open_after_fixes": 2, "clear_after_fixes": 2}
        )
    walks = [_walk(k) for k in range(len(worlds))]
    t0 = now_ms() - 30_000 * (FIXES + 5)
    ingest = with_metrics(settings)
    with ingester(ingest):
        asyncio.run(_churn(settings, worlds, t0, walks))
        cases = [w.case_id for w in worlds]
        stored = "SELECT count(*) FROM pings WHERE case_id = ANY(%(c)s)"
        services.wait_until(
            lambda: rows(settings, stored, {"c": cases})[0][0] == FIXES * len(worlds),
            timeout_s=30, what="every fix stored",
        )  # fmt: skip
        assert rows(settings, "SELECT count(*) FROM unjudged_fixes")[0][0] == 0
        assert metric(ingest, "bailwatch_alerts_evaluation_errors_total") == 0
    found = rows(
        settings,
        "SELECT rule_id, started_at, cleared_at, late FROM alerts WHERE case_id = ANY(%(c)s) "
        "ORDER BY rule_id, started_at",
        {"c": [w.case_id for w in worlds]},
    )
    expected = _reference(settings, worlds)
    assert len(expected) >= 4  # the walk does cross the boundaries
    assert sorted(found) == expected
    # the configuration did change under the stream: rules were added and retired
    history = rows(
        settings,
        "SELECT count(*), count(valid_to) FROM case_rules WHERE case_id = ANY(%(c)s) "
        "AND valid_from IS NOT NULL",
        {"c": [w.case_id for w in worlds]},
    )
    assert history[0][0] >= 4
    assert history[0][1] >= 2
