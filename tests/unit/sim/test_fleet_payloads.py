"""Reported fixes: v1 shape, accuracy by source, strictly increasing seq, offline buffers."""

from __future__ import annotations

import json
import stat
import threading
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import msgspec
import numpy as np
import pytest

from config.settings import MqttSettings
from sim.credentials import (
    Credential,
    credential_for,
    fallback_credential,
    read_device_credentials,
    write_device_credentials,
)
from sim.fleet import Fleet
from sim.paths import DONGYING_PLANE
from sim.payloads import Fix, Status, decode_loc, encode_fix, encode_fixes, encode_status, topic
from sim.runner import RunOptions, run
from sim.scenario import Scenario
from sim.watches import build_watches
from tests.unit.sim.publishers import RecordingPublisher

START_MS = 1_795_000_000_000
V1_REQUIRED = {"ts", "lat", "lon", "acc", "src", "seq"}
V1_OPTIONAL = {"alt", "spd", "hdg", "batt", "sat"}


def make_fleet(scenario: Scenario, seed: int = 1, **kw: float) -> Fleet:
    watches = build_watches(scenario, start_ms=START_MS, seed=seed)
    return Fleet(watches, plane=DONGYING_PLANE, start_ms=START_MS, seed=seed, **kw)  # type: ignore[arg-type]


def test_fix_encoding_is_v1_and_round_trips() -> None:
    fix = Fix(ts=START_MS, lat=37.46, lon=118.49, acc=6.5, src="gnss", seq=41, spd=1.2, batt=80)
    body = json.loads(encode_fix(fix))
    assert body == {
        "ts": START_MS, "lat": 37.46, "lon": 118.49, "acc": 6.5, "src": "gnss", "seq": 41,
        "spd": 1.2, "batt": 80,
    }  # fmt: skip
    assert decode_loc(encode_fix(fix)) == [fix]
    array = encode_fixes([fix, fix])
    assert isinstance(json.loads(array), list)
    assert decode_loc(array) == [fix, fix]


def test_status_encoding() -> None:
    status = Status(ts=START_MS, batt=87, charging=False, strap="closed", signal=-85, fw="1.4.2")
    assert json.loads(encode_status(status)) == {
        "ts": START_MS, "batt": 87, "charging": False, "strap": "closed", "signal": -85,
        "fw": "1.4.2",
    }  # fmt: skip


def test_topics() -> None:
    assert topic("dw-0001", "loc") == "bw/v1/dev/dw-0001/loc"
    assert topic("dw-0001", "status") == "bw/v1/dev/dw-0001/status"


def test_reported_fixes_are_well_formed(scenario: Scenario) -> None:
    fleet = make_fleet(scenario)
    fixes = []
    for k in range(400):
        now = START_MS + k * 5000
        fleet.advance(now)
        fixes += fleet.fixes(np.arange(len(fleet)), now)
    by_src: dict[str, list[float]] = defaultdict(list)
    for fix in fixes:
        body = json.loads(encode_fix(fix))
        assert V1_REQUIRED <= body.keys() <= V1_REQUIRED | V1_OPTIONAL
        assert 36.5 < body["lat"] < 38.5
        assert 117.8 < body["lon"] < 119.5
        assert 0 <= body.get("batt", 50) <= 100
        by_src[fix.src].append(fix.acc)
    assert set(by_src) == {"gnss", "bds", "wifi", "lbs"}
    sat = np.array(by_src["gnss"] + by_src["bds"])
    assert np.mean((sat >= 3) & (sat <= 15)) > 0.9
    assert 30 <= min(by_src["wifi"]) <= max(by_src["wifi"]) <= 80
    assert 500 <= min(by_src["lbs"]) <= max(by_src["lbs"]) <= 1500
    assert len(by_src["lbs"]) < 0.1 * len(fixes)


def test_seq_strictly_increasing_and_buffers_arrive_late(scenario: Scenario) -> None:
    fleet = make_fleet(scenario, offline_mean_gap_s=120.0)
    received: dict[str, list[Fix]] = defaultdict(list)
    arrays = 0
    for k in range(720):
        now = START_MS + k * 5000
        fleet.advance(now)
        for out in fleet.report(np.arange(len(fleet)), now, interval_s=5.0):
            payload = encode_fixes(out.fixes) if out.as_array else encode_fix(out.fixes[0])
            received[fleet.ids[out.index]] += decode_loc(payload)
            arrays += out.as_array
    assert arrays > 0, "some watches should have uploaded a buffer"
    late = 0
    for fixes in received.values():
        by_time = sorted(fixes, key=lambda f: f.ts)
        seqs = [f.seq for f in by_time]
        assert all(a < b for a, b in pairwise(seqs))
        late += sum(1 for a, b in pairwise(fixes) if b.ts < a.ts)
    assert late > 0, "buffered fixes should arrive after a newer live fix"


def test_battery_drains_slowly_and_charges_when_low(scenario: Scenario) -> None:
    fleet = make_fleet(scenario)
    before = fleet.battery.copy()
    fleet.advance(START_MS + 3600_000)
    drop = before - fleet.battery
    assert ((drop >= 1.9) & (drop <= 5.1)).all()
    fleet.battery[:] = 15.0
    fleet.advance(START_MS + 2 * 3600_000)
    assert fleet.charging.all()
    assert (fleet.battery > 15.0).all()


def test_credentials_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "device-credentials.json"
    write_device_credentials(path, {"dw-0002": ("dw-0002", "p2"), "dw-0001": ("dw-0001", "p1")})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "dw-0001": {"username": "dw-0001", "password": "p1"},
        "dw-0002": {"username": "dw-0002", "password": "p2"},
    }
    creds = read_device_credentials(path)
    assert creds == {"dw-0001": Credential("dw-0001", "p1"), "dw-0002": Credential("dw-0002", "p2")}
    write_device_credentials(path, {"dw-0001": ("dw-0001", "new")})
    assert read_device_credentials(path) == {"dw-0001": Credential("dw-0001", "new")}
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary files left"


def test_credentials_fall_back_to_settings(tmp_path: Path) -> None:
    assert read_device_credentials(tmp_path / "missing.json") is None
    sim = fallback_credential(MqttSettings(username="bw-sim", password="pw"))  # type: ignore[arg-type]
    assert sim == Credential("bw-sim", "pw")
    assert fallback_credential(MqttSettings()) == Credential(None, None)
    own = {"dw-0001": Credential("dw-0001", "p1")}
    assert credential_for("dw-0001", own, sim) == own["dw-0001"]
    assert credential_for("dw-0009", own, sim) == sim
    assert credential_for("dw-0001", None, sim) == sim


@pytest.mark.parametrize("rate", [20.0, 400.0])
def test_runner_paces_with_the_token_bucket(scenario: Scenario, rate: float) -> None:
    fleet = make_fleet(scenario, offline_mean_gap_s=1e9)
    pub = RecordingPublisher()
    options = RunOptions(rate_per_s=rate, duration_s=1.5, tick_s=0.01)
    stats = run(fleet, pub, options, threading.Event())
    assert pub.closed
    assert 0.8 * rate <= stats.rate_per_s <= 1.2 * rate
    loc = [m for m in pub.messages if m[1].endswith("/loc")]
    status = [m for m in pub.messages if m[1].endswith("/status")]
    assert len(loc) == stats.messages
    assert stats.fixes == len(loc)
    assert {m[0] for m in status} == set(fleet.ids), "every watch reports its status at start"
    for device_id, t, payload in loc:
        assert t == f"bw/v1/dev/{device_id}/loc"
        decode_loc(payload)
    for _, _, payload in status:
        msgspec.json.decode(payload, type=Status)
    counts = list(stats.per_device.values())
    assert max(counts) - min(counts) <= 1, "round robin: every watch gets its turn"
