"""The simulator's tracks are physically plausible at any rate: fix times of one watch distinct and
increasing, errors inside the fix disks, so no pair of fixes implies a speed above the fastest
simulated travel, and ingest's speed check refuses none (a refusal is an impossible-movement
alarm: in the high-rate benchmark it was ~980 of them)."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np

from geofence.geodesy import geodesic_distance_m
from geofence.relation import K_SIGMA
from ingest.directory import DeviceDirectory
from ingest.models import Ping
from ingest.validate import CheckContext, Limits, check_ping
from sim.fleet import MAX_ERROR_ACC, Fleet, bounded_errors
from sim.paths import CAR_MPS, DONGYING_PLANE
from sim.payloads import Fix, decode_loc
from sim.runner import RunOptions, run
from sim.scenario import Scenario
from sim.watches import WanderTiming, build_watches
from tests.unit.sim.publishers import RecordingPublisher

START_S = 1_795_000_000.0
#: Fastest simulated travel (m/s), with 1% for the local plane's scale across the city.
FASTEST_MPS = CAR_MPS[1] * 1.01


def stepping_clock(step_s: float) -> object:
    """A clock that moves ``step_s`` seconds at each reading (one reading per runner tick)."""
    now = [START_S]

    def clock() -> float:
        now[0] += step_s
        return now[0]

    return clock


def high_rate_run(scenario: Scenario, *, seconds: float, rate: float) -> dict[str, list[Fix]]:
    """``seconds`` of the runner at ``rate`` fixes a second (far above one per watch per tick),
    with offline buffers; the fixes each watch sent, in the order they were published."""
    start_ms = int(START_S * 1000)
    watches = build_watches(scenario, start_ms=start_ms, wander=WanderTiming(after_s=0.0))
    fleet = Fleet(watches, plane=DONGYING_PLANE, start_ms=start_ms, seed=3, offline_mean_gap_s=2.0)
    recorder = RecordingPublisher()
    options = RunOptions(rate_per_s=rate, duration_s=seconds, tick_s=0.0, log_every_s=1e9)
    run(fleet, recorder, options, threading.Event(), clock=stepping_clock(0.01))  # type: ignore[arg-type]
    sent: dict[str, list[Fix]] = defaultdict(list)
    for device_id, topic, payload in recorder.messages:
        if topic.endswith("/loc"):
            sent[device_id] += decode_loc(payload)
    return sent


def least_speed_mps(a: Fix, b: Fix) -> float:
    """Distance less both fix disks over the time between them (no floor on the time step)."""
    dist = float(geodesic_distance_m(a.lon, a.lat, b.lon, b.lat))
    return max(0.0, dist - K_SIGMA * (a.acc + b.acc)) / (abs(b.ts - a.ts) / 1000)


def test_high_rate_tracks_never_imply_an_impossible_speed(scenario: Scenario) -> None:
    sent = high_rate_run(scenario, seconds=90.0, rate=10_000.0)
    assert set(sent) == {w.device_id for w in build_watches(scenario, start_ms=0)}
    directory = DeviceDirectory(ttl_s=1e9, negative_ttl_s=1e9)
    for device_id in sent:
        directory.put(device_id, assignments=((0.0, math.inf, 1),))
    ctx = CheckContext(Limits(300, 30, 150), directory)
    late = 0
    for device_id, fixes in sent.items():
        by_time = sorted(fixes, key=lambda f: f.ts)
        assert all(a.ts < b.ts for a, b in pairwise(by_time)), "one fix per watch per instant"
        assert all(a.seq < b.seq for a, b in pairwise(by_time))
        fastest = max(least_speed_mps(a, b) for a, b in pairwise(by_time))
        assert fastest <= FASTEST_MPS, f"{device_id}: {fastest:.1f} m/s between two fixes"
        late += sum(1 for a, b in pairwise(fixes) if b.ts < a.ts)
        for f in fixes:  # in the order ingest receives them, buffers late
            at = datetime.fromtimestamp(f.ts / 1000, UTC)
            p = Ping(device_id, at, f.seq, at + timedelta(seconds=1), f.lon, f.lat, f.acc, f.src)
            assert check_ping(p, ctx) == (), f"{device_id} fix {f.seq} refused"
    assert late > 0, "offline buffers (late fixes) are part of the run"
    assert min(len(f) for f in sent.values()) > 1000, "up to 100 fixes a second per watch"


def test_a_watch_reports_at_most_once_a_tick(scenario: Scenario) -> None:
    sent = high_rate_run(scenario, seconds=2.0, rate=1e6)
    # 100 ticks a second, one fix per watch per tick, whatever the target.
    assert all(190 <= len(fixes) <= 201 for fixes in sent.values())


def test_errors_are_gaussian_inside_the_fix_disk() -> None:
    rng = np.random.default_rng(5)
    acc = np.full(200_000, 10.0)
    ex, ey = bounded_errors(rng, acc)
    r = np.hypot(ex, ey)
    assert r.max() <= MAX_ERROR_ACC * 10.0 + 1e-9
    assert MAX_ERROR_ACC < K_SIGMA
    assert abs(np.mean(r <= acc) - 0.68) < 0.01, "acc stays the 68% radius"
