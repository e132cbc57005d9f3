"""Device security (per-device credentials and ACLs) and an OwnTracks phone acting as a watch."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from broker.dynsec import verify_password
from config.settings import Settings
from tests.integration.ingest.helpers import count_pings, fix, ingester, loc, now_ms, rows, scalar
from tests.support import services

pytestmark = pytest.mark.integration


def observer(settings: Settings, filters: list[str]) -> tuple[mqtt.Client, list[str]]:
    """A plain (non-shared) subscriber with the ingester's identity; returns received topics."""
    s = services.with_broker_credentials(settings)
    pw = s.mqtt.password.get_secret_value() if s.mqtt.password else ""
    client = services.mqtt_client(s, username=s.mqtt.username or "", password=pw)
    got: list[str] = []
    subscribed = threading.Event()
    client.on_message = lambda c, u, m: got.append(m.topic)
    client.on_subscribe = lambda *a: subscribed.set()
    client.subscribe([(f, 1) for f in filters])
    assert subscribed.wait(5)
    return client, got


def test_a_device_cannot_publish_as_another(settings: Settings) -> None:
    a = services.provision_test_device(settings, "w-sec-a")
    b = services.provision_test_device(settings, "w-sec-b")
    watch, got = observer(settings, ["bw/v1/dev/#", "owntracks/#"])
    device_a = services.mqtt_client(settings, username=a.username, password=a.password)
    results: dict[str, int] = {}
    device_a.on_publish = lambda c, u, mid, rc, p: results.__setitem__(str(mid), rc.value)
    forged = device_a.publish("bw/v1/dev/w-sec-b/loc", json.dumps(fix(now_ms(), 1)), qos=1)
    forged_ot = device_a.publish("owntracks/w-sec-b/phone", b'{"_type":"lwt","tst":1}', qos=1)
    own = device_a.publish("bw/v1/dev/w-sec-a/loc", json.dumps(fix(now_ms(), 2)), qos=1)
    for info in (forged, forged_ot, own):
        info.wait_for_publish(5)
    services.wait_until(lambda: "bw/v1/dev/w-sec-a/loc" in got, timeout_s=5, what="own fix")
    assert got == ["bw/v1/dev/w-sec-a/loc"], "nothing published under another device's topics"
    assert results[str(forged.mid)] == 0x87
    assert results[str(forged_ot.mid)] == 0x87
    suback: list[list[int]] = []
    done = threading.Event()

    def on_subscribe(c: object, u: object, mid: int, rcs: list[Any], p: object) -> None:
        suback.append([r.value for r in rcs])
        done.set()

    device_a.on_subscribe = on_subscribe
    device_a.subscribe([("bw/v1/dev/w-sec-a/cmd", 1), ("bw/v1/dev/w-sec-b/cmd", 1)])
    assert done.wait(5)
    assert suback == [[1, 0x87]], "reads only its own cmd topic"
    stored = scalar(settings, "SELECT mqtt_password_hash FROM devices WHERE id = 'w-sec-b'")
    assert isinstance(stored, str)
    assert b.password not in stored
    assert verify_password(b.password, stored)
    for c in (device_a, watch):
        c.disconnect()


def test_anonymous_and_wrong_passwords_are_refused(settings: Settings) -> None:
    a = services.provision_test_device(settings, "w-sec-c")
    with pytest.raises(RuntimeError, match="did not connect"):
        services.mqtt_client(settings, username=a.username, password="wrong")
    with pytest.raises(RuntimeError, match="did not connect"):
        services.mqtt_client(settings, username="nobody", password="x")


def test_an_unmodified_owntracks_phone_works_as_a_watch(settings: Settings) -> None:
    creds = services.provision_test_device(settings, "phone-1")
    services.seed_devices(settings, ["phone-1"])
    tst = int(time.time()) - 30
    base = "owntracks/phone-1/iphone"
    location = {"_type": "location", "tid": "p1", "lat": 31.23, "lon": 121.47, "tst": tst,
                "acc": 12, "alt": 8, "vel": 36, "cog": 90, "batt": 77, "bs": 1, "conn": "m",
                "t": "u", "topic": base}  # fmt: skip
    transition = {"_type": "transition", "event": "leave", "desc": "Home", "tst": tst + 1,
                  "wtst": 1700000000, "lat": 31.23, "lon": 121.47, "acc": 12, "t": "c"}  # fmt: skip
    with ingester(settings):
        phone = services.mqtt_client(settings, username=creds.username, password=creds.password)
        services.publish_all(phone, [
            (base, json.dumps(location).encode()),
            (base + "/event", json.dumps(transition).encode()),
            (base, json.dumps({"_type": "waypoints", "waypoints": []}).encode()),
            (base, json.dumps({"_type": "lwt", "tst": tst}).encode()),
        ])  # fmt: skip
        services.wait_until(
            lambda: count_pings(settings) == 1
            and scalar(settings, "SELECT count(*) FROM device_events") == 3,
            timeout_s=15, what="fix and events",
        )  # fmt: skip
        phone.disconnect()
    (ping,) = rows(settings, "SELECT device_id, lat, lon, spd, batt FROM pings")
    assert ping == ("phone-1", 31.23, 121.47, pytest.approx(10.0), 77)
    kinds = {r[0] for r in rows(settings, "SELECT kind FROM device_events")}
    assert kinds == {"transition", "lwt", "ignored:waypoints"}
    assert scalar(settings, "SELECT count(*) FROM dead_letters") == 0


def test_fixes_map_to_the_case_assigned_at_fix_time(settings: Settings) -> None:
    services.seed_devices(settings, ["w-case"])
    with ingester(settings):
        client = services.mqtt_client(settings)
        services.publish_all(client, [loc("w-case", fix(now_ms() - 1000, 1))])
        services.wait_until(lambda: count_pings(settings) == 1, timeout_s=10, what="fix")
        client.disconnect()
    assert scalar(settings, "SELECT p.case_id = a.case_id FROM pings p "
                            "JOIN device_assignments a USING (device_id)") is True  # fmt: skip
