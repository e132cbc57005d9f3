"""Per-case device rules through the real services: the watchdog's no-signal limit, battery
thresholds and severities through the ingester, rules outside their validity period, a condition
switched off, and a case speed limit that lowers the impossible-movement threshold."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from tests.integration.alerts.test_delivery import alerts_process
from tests.integration.alerts.world import (
    HOME,
    World,
    add_device_rule,
    build_world,
    execute,
    rows,
)
from tests.integration.ingest.helpers import fix, ingester, loc, now_ms
from tests.support import services

pytestmark = pytest.mark.integration


def alerts_of(settings: Settings, world: World) -> list[tuple[str, str, int | None, bool]]:
    """(kind, severity, rule, cleared) of the case's alerts, oldest first."""
    return rows(
        settings,
        "SELECT kind, severity, rule_id, cleared_at IS NOT NULL FROM alerts WHERE case_id = %(c)s "
        "ORDER BY id",
        {"c": world.case_id},
    )


def seen_now(settings: Settings, *worlds: World) -> datetime:
    """Mark the worlds' watches as heard from now; returns that time."""
    seen = datetime.now(UTC)
    for w in worlds:
        execute(
            settings,
            "INSERT INTO device_status (device_id, last_seen_at) VALUES (%(d)s, %(t)s)",
            {"d": w.device_id, "t": seen},
        )
    return seen


def test_the_watchdog_uses_each_cases_no_signal_rule(alert_settings: Settings) -> None:
    settings = alert_settings
    now = datetime.now(UTC)
    quick = build_world(settings)  # the case's own limit: 1800 s
    rule = add_device_rule(settings, quick, "no_signal", {"no_signal_after_s": 2},
                           severity="critical")  # fmt: skip
    default = build_world(settings)
    not_yet = build_world(settings)
    add_device_rule(settings, not_yet, "no_signal", {"no_signal_after_s": 2},
                    valid_from=now + timedelta(hours=1))  # fmt: skip
    ended = build_world(settings)
    add_device_rule(settings, ended, "no_signal", {"no_signal_after_s": 2},
                    valid_from=now - timedelta(hours=1), valid_to=now)  # fmt: skip
    switched_off = build_world(settings, no_signal_limit_s=2)
    add_device_rule(settings, switched_off, "no_signal", {"enabled": False})
    seen = seen_now(settings, quick, default, not_yet, ended, switched_off)
    with alerts_process(settings):
        services.wait_until(lambda: bool(alerts_of(settings, quick)), timeout_s=15,
                            what="no signal of the case with a 2 s limit")  # fmt: skip
        assert alerts_of(settings, quick) == [("no_signal", "critical", rule, False)]
        ((opened_at, evidence),) = rows(
            settings, "SELECT opened_at, evidence FROM alerts WHERE case_id = %(c)s",
            {"c": quick.case_id},
        )  # fmt: skip
        delay = (opened_at - (seen + timedelta(seconds=2))).total_seconds()
        assert 0 <= delay < 3, f"opened {delay:.1f} s after the case's limit"
        assert (evidence[0]["limit_s"], evidence[0]["rule_id"]) == (2.0, rule)
        time.sleep(2.0)  # several more rounds
        for w in (default, not_yet, ended, switched_off):
            assert alerts_of(settings, w) == [], "default limit, rule not valid now, or off"
        # A rule created while the watchdog runs applies from its next round.
        later = add_device_rule(settings, default, "no_signal", {"no_signal_after_s": 3})
        services.wait_until(lambda: bool(alerts_of(settings, default)), timeout_s=10,
                            what="no signal after the new rule")  # fmt: skip
        assert alerts_of(settings, default) == [("no_signal", "high", later, False)]
        assert alerts_of(settings, not_yet) == alerts_of(settings, switched_off) == []


def ingest_all(
    settings: Settings, messages: list[tuple[str, bytes]], done: Callable[[], bool], what: str
) -> None:
    """Publish ``messages`` through a running ingester and wait until ``done()``."""
    with ingester(settings):
        client = services.mqtt_client(settings)
        try:
            services.publish_all(client, messages)
            services.wait_until(done, timeout_s=15, what=what)
        finally:
            client.disconnect()
            client.loop_stop()


def status(world: World, ts_ms: int, batt: int) -> tuple[str, bytes]:
    body = {"ts": ts_ms, "batt": batt, "charging": False, "strap": "closed"}
    return f"bw/v1/dev/{world.device_id}/status", json.dumps(body).encode()


def test_a_battery_rule_applies_to_its_case_at_the_reports_own_time(settings: Settings) -> None:
    now = datetime.now(UTC)
    strict = build_world(settings)
    rule = add_device_rule(settings, strict, "battery_critical", {"battery_critical_pct": 25},
                           severity="high")  # fmt: skip
    default = build_world(settings)  # the deployment's 10 %
    not_yet = build_world(settings)
    add_device_rule(settings, not_yet, "battery_critical", {"battery_critical_pct": 25},
                    valid_from=now + timedelta(hours=1))  # fmt: skip
    earlier = build_world(settings)
    past = add_device_rule(settings, earlier, "battery_critical", {"battery_critical_pct": 25},
                           valid_from=now - timedelta(hours=2),
                           valid_to=now - timedelta(hours=1))  # fmt: skip
    t = now_ms()
    messages = [status(w, t, 20) for w in (strict, default, not_yet)]
    # A report from 90 minutes ago, uploaded only now: judged by the rule valid back then.
    messages.append(status(earlier, t - 90 * 60_000, 20))
    worlds = [strict, default, not_yet, earlier]

    def stored() -> bool:
        found = rows(settings, "SELECT count(*) FROM device_status WHERE battery_pct = 20")
        return bool(found[0][0] == len(worlds))

    ingest_all(settings, messages, stored, "the four status reports")
    assert alerts_of(settings, strict) == [("battery_critical", "high", rule, False)]
    assert alerts_of(settings, earlier) == [("battery_critical", "medium", past, False)]
    assert alerts_of(settings, default) == []
    assert alerts_of(settings, not_yet) == []
    ((evidence,),) = rows(settings, "SELECT evidence FROM alerts WHERE case_id = %(c)s",
                          {"c": strict.case_id})  # fmt: skip
    assert (evidence[0]["battery_pct"], evidence[0]["battery_critical_pct"]) == (20, 25.0)


def east(metres: float) -> tuple[float, float]:
    """(lon, lat) ``metres`` east of HOME."""
    return HOME[0] + metres / (111_320 * math.cos(math.radians(HOME[1]))), HOME[1]


def test_a_case_speed_limit_lowers_the_impossible_movement_threshold(settings: Settings) -> None:
    limited = build_world(settings)
    rule = add_device_rule(settings, limited, "impossible_speed", {"max_speed_mps": 20})
    default = build_world(settings)
    t0 = now_ms() - 60_000
    # 1 km in 10 s (~100 m/s: under ingest's 150 m/s, over the case's 20), then a walk.
    track = [(t0, HOME), (t0 + 10_000, east(1000)), (t0 + 20_000, east(1040))]
    messages = [
        loc(w.device_id, fix(ts, i, lon=lon, lat=lat))
        for w in (limited, default)
        for i, (ts, (lon, lat)) in enumerate(track)
    ]

    def stored() -> bool:
        return bool(rows(settings, "SELECT count(*) FROM pings")[0][0] == 2 * len(track))

    ingest_all(settings, messages, stored, "every fix stored")
    assert rows(settings, "SELECT count(*) FROM dead_letters") == [(0,)], "ingest refused none"
    assert alerts_of(settings, limited) == [("impossible_movement", "high", rule, True)]
    ((evidence, started),) = rows(
        settings, "SELECT evidence, started_at FROM alerts WHERE case_id = %(c)s",
        {"c": limited.case_id},
    )  # fmt: skip
    assert int(started.timestamp() * 1000) == t0 + 10_000
    # 1000 m less both fix disks (2 x 8 m each) over 10 s.
    assert evidence[0]["speed_mps"] == pytest.approx(96.8, abs=0.5)
    assert evidence[0]["max_speed_mps"] == 20.0
    assert alerts_of(settings, default) == []


def add_permit(
    settings: Settings, world: World, rule_ids: list[int], start: datetime, end: datetime,
    status: str = "approved",
) -> int:  # fmt: skip
    """A leave permit of the world's case suspending ``rule_ids`` over ``[start, end)``."""
    return int(
        execute(
            settings,
            "INSERT INTO leave_permits (case_id, status, reason, suspended_rule_ids, "
            "window_start, window_end) VALUES (%(c)s, %(s)s, 'hospital', %(r)s, %(f)s, %(t)s) "
            "RETURNING id",
            {"c": world.case_id, "s": status, "r": rule_ids, "f": start, "t": end},
        )
    )


def test_a_permit_naming_a_no_signal_rule_holds_the_watchdog_for_its_window(
    alert_settings: Settings,
) -> None:
    settings = alert_settings
    now = datetime.now(UTC)
    away = build_world(settings)
    rule = add_device_rule(settings, away, "no_signal", {"no_signal_after_s": 2})
    add_permit(settings, away, [rule], now - timedelta(minutes=5), now + timedelta(seconds=6))
    requested = build_world(settings)  # a permit not approved suspends nothing
    asked = add_device_rule(settings, requested, "no_signal", {"no_signal_after_s": 2})
    add_permit(settings, requested, [asked], now - timedelta(minutes=5), now + timedelta(hours=1),
               status="requested")  # fmt: skip
    seen = seen_now(settings, away, requested)
    with alerts_process(settings):
        services.wait_until(lambda: bool(alerts_of(settings, requested)), timeout_s=15,
                            what="no signal where the permit is only requested")  # fmt: skip
        assert alerts_of(settings, away) == [], "silent past its limit, but within the permit"
        services.wait_until(lambda: bool(alerts_of(settings, away)), timeout_s=20,
                            what="no signal once the permit ended")  # fmt: skip
    assert alerts_of(settings, away) == [("no_signal", "high", rule, False)]
    ((opened_at,),) = rows(settings, "SELECT opened_at FROM alerts WHERE case_id = %(c)s",
                           {"c": away.case_id})  # fmt: skip
    assert opened_at >= now + timedelta(seconds=6), "not before the permit's window ended"
    assert opened_at > seen + timedelta(seconds=2)


def strap(world: World, ts_ms: int, state: str) -> tuple[str, bytes]:
    body = {"ts": ts_ms, "batt": 80, "charging": False, "strap": state}
    return f"bw/v1/dev/{world.device_id}/status", json.dumps(body).encode()


def test_a_permit_naming_a_strap_rule_excuses_a_strap_opened_in_its_window(
    settings: Settings,
) -> None:
    now = datetime.now(UTC)
    excused = build_world(settings)
    rule = add_device_rule(settings, excused, "strap_open")
    add_permit(settings, excused, [rule], now - timedelta(hours=1), now + timedelta(hours=1))
    before = build_world(settings)  # opened before its permit's window: still an alert
    early = add_device_rule(settings, before, "strap_open")
    add_permit(settings, before, [early], now - timedelta(minutes=30), now + timedelta(hours=1))
    other = build_world(settings)  # the permit names another rule of the case
    kept = add_device_rule(settings, other, "strap_open")
    battery = add_device_rule(settings, other, "battery_critical")
    add_permit(settings, other, [battery], now - timedelta(hours=1), now + timedelta(hours=1))
    t = now_ms()
    messages = [strap(excused, t, "open"), strap(before, t - 45 * 60_000, "open"),
                strap(other, t, "open")]  # fmt: skip
    worlds = [excused, before, other]

    def stored() -> bool:
        found = rows(settings, "SELECT count(*) FROM device_status WHERE strap_closed = false")
        return bool(found[0][0] == len(worlds))

    ingest_all(settings, messages, stored, "the three strap reports")
    assert alerts_of(settings, excused) == []
    assert alerts_of(settings, before) == [("strap_opened", "critical", early, False)]
    assert alerts_of(settings, other) == [("strap_opened", "critical", kept, False)]
