"""Ingest end to end through the real broker and database: stored once, ordered, dead-lettered."""

from __future__ import annotations

import json

import pytest

from config.settings import Settings
from store.pings import SELECT_TRACK
from tests.integration.ingest.helpers import (
    count_pings,
    fix,
    ingester,
    loc,
    now_ms,
    rows,
    scalar,
)  # fmt: skip
from tests.support import services

pytestmark = pytest.mark.integration


def test_late_offline_buffer_is_stored_and_ordered(settings: Settings) -> None:
    services.seed_devices(settings, ["w-late"])
    t0 = now_ms() - 600_000
    live = [fix(t0 + 500_000 + i * 10_000, 100 + i) for i in range(3)]
    buffer = [fix(t0 + i * 10_000, i, lat=31.2304 + i * 1e-4) for i in range(20)]
    with ingester(settings):
        client = services.mqtt_client(settings)
        services.publish_all(client, [loc("w-late", f) for f in live])
        services.publish_all(client, [loc("w-late", buffer[::-1])])  # newest first, as uploaded
        services.wait_until(lambda: count_pings(settings) == 23, timeout_s=15, what="23 fixes")
        client.disconnect()
    case_id = scalar(settings, "SELECT case_id FROM device_assignments WHERE device_id = 'w-late'")
    track = rows(
        settings,
        SELECT_TRACK.replace("$1", "%s").replace("$2", "%s").replace("$3", "%s"),
        case_id, "2000-01-01", "2100-01-01",
    )  # fmt: skip
    times = [r[1] for r in track]
    assert times == sorted(times)
    assert len(times) == 23
    assert [r[2] for r in track] == [*range(20), 100, 101, 102]
    newest = scalar(settings, "SELECT last_fix_time FROM device_status WHERE device_id = 'w-late'")
    assert newest == max(times), "latest position is the newest fix time, not the last received"
    recv = rows(settings, "SELECT received_at - fix_time FROM pings ORDER BY fix_time LIMIT 1")
    assert recv[0][0].total_seconds() > 500, "receive time is kept apart from fix time"


def test_duplicates_and_resent_buffers_are_stored_once(any_client: Settings) -> None:
    settings = any_client
    services.seed_devices(settings, ["w-dup"])
    t0 = now_ms() - 60_000
    fixes = [fix(t0 + i * 1000, i) for i in range(10)]
    with ingester(settings):
        client = services.mqtt_client(settings)
        single = loc("w-dup", fixes[0])
        services.publish_all(client, [single, single, single])
        services.publish_all(client, [loc("w-dup", fixes), loc("w-dup", fixes[5:])])
        bad = ("bw/v1/dev/w-dup/loc", b"{not json")
        services.publish_all(client, [bad, bad])
        services.wait_until(
            lambda: count_pings(settings) == 10
            and scalar(settings, "SELECT count(*) FROM dead_letters") == 1,
            timeout_s=15, what="10 fixes and 1 dead letter",
        )  # fmt: skip
        marker = loc("w-dup", fix(t0 + 20_000, 20))
        services.publish_all(client, [marker])
        services.wait_until(lambda: count_pings(settings) == 11, timeout_s=15, what="marker")
        client.disconnect()
    assert scalar(settings, "SELECT count(*) FROM dead_letters") == 1


def test_rejects_go_to_dead_letters_and_good_fixes_stay(settings: Settings) -> None:
    services.seed_devices(settings, ["w-ok"])
    services.provision_test_device(settings, "w-unassigned")
    now = now_ms()
    array = [fix(now - 3000, 1), fix(now - 2000, 2, lat=0.0, lon=0.0), {"ts": "soon"},
             fix(now - 1000, 3, lat=95.0), fix(now + 3_600_000, 4)]  # fmt: skip
    messages = [
        loc("w-ok", array),
        loc("w-ghost", fix(now, 1)),
        loc("w-unassigned", fix(now, 1)),
        ("bw/v1/dev/w-ok/loc", b"\xff\xfe garbage"),
        ("bw/v1/dev/w-ok/loc", json.dumps(fix(now, 9)).encode() + b" " * 300_000),
    ]
    with ingester(settings):
        client = services.mqtt_client(settings)
        services.publish_all(client, messages)
        services.wait_until(
            lambda: scalar(settings, "SELECT count(*) FROM dead_letters") == 8,
            timeout_s=15, what="8 dead letters",
        )  # fmt: skip
        client.disconnect()
    assert count_pings(settings) == 1
    got = {
        (topic, tuple(reasons), (detail or {}).get("index"))
        for topic, reasons, detail in rows(
            settings, "SELECT topic, reasons, detail FROM dead_letters"
        )
    }
    assert got == {
        ("bw/v1/dev/w-ok/loc", ("null_island", "impossible_speed"), 1),
        ("bw/v1/dev/w-ok/loc", ("wrong_types",), 2),
        ("bw/v1/dev/w-ok/loc", ("coords_out_of_range", "impossible_speed"), 3),
        ("bw/v1/dev/w-ok/loc", ("future_fix",), 4),
        ("bw/v1/dev/w-ghost/loc", ("unknown_device",), None),
        ("bw/v1/dev/w-unassigned/loc", ("unassigned_device",), None),
        ("bw/v1/dev/w-ok/loc", ("malformed_json",), None),
        ("bw/v1/dev/w-ok/loc", ("oversized_payload",), None),
    }


def test_status_and_events_update_device_status_and_history(settings: Settings) -> None:
    services.seed_devices(settings, ["w-st"])
    now = now_ms()
    status_new = {"ts": now, "batt": 55, "charging": False, "strap": "closed", "signal": 4,
                  "fw": "2.1.0"}  # fmt: skip
    status_old = {"ts": now - 60_000, "batt": 90, "charging": True, "strap": "closed"}
    event = {"ts": now + 1000, "kind": "strap_open", "lat": 31.2, "lon": 121.4}
    with ingester(settings):
        client = services.mqtt_client(settings)
        services.publish_all(client, [
            ("bw/v1/dev/w-st/status", json.dumps(status_new).encode()),
            ("bw/v1/dev/w-st/status", json.dumps(status_old).encode()),
            ("bw/v1/dev/w-st/event", json.dumps(event).encode()),
            loc("w-st", fix(now - 5000, 1)),
        ])  # fmt: skip
        services.wait_until(
            lambda: scalar(settings, "SELECT count(*) FROM device_events") == 1
            and scalar(settings, "SELECT count(*) FROM device_status_history") == 2
            and count_pings(settings) == 1,
            timeout_s=15, what="status, event and fix stored",
        )  # fmt: skip
        client.disconnect()
    (row,) = rows(
        settings,
        "SELECT battery_pct, charging, strap_closed, signal, firmware, last_seen_at IS NOT NULL,"
        " last_fix_time IS NOT NULL, clock_skew_s IS NOT NULL FROM device_status",
    )
    assert row == (55, False, False, 4, "2.1.0", True, True, True)
