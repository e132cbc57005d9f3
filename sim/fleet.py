"""The simulated watches as arrays: positions, legs, counters, battery, and the fixes they report.

Pure and deterministic for a given random seed: the caller passes the time (epoch ms, UTC). Moving
every watch is vectorised with numpy (one ``advance`` per tick for 10,000 watches costs well under
a millisecond); only a watch that finished its leg calls its planner, in Python.

A reported fix is the true position plus Gaussian noise whose 68% radius is the reported ``acc``
(per-axis sigma = acc / 1.51): satellite fixes 3-15 m most of the time, Wi-Fi 30-80 m (more often
indoors at home), cell-tower ``lbs`` 500-1500 m now and then. The noise is cut off at
``MAX_ERROR_ACC`` times ``acc`` (the ~1% of a Gaussian beyond it is moved onto that circle): a
simulated watch reports honestly, every fix inside the disk the system trusts (twice ``acc``),
so two fixes less their disks never imply a speed above the watch's real one, however close in
time they are. Gross errors beyond it (multipath, a wrong cell tower) are faults for tests to
inject on purpose, not noise for the demo or a benchmark to raise alarms on at random.

Batteries drain 2-5 %/h and charge at 30 %/h below 20 % until 95 %. A watch sometimes loses its
connection for a minute or two: its fixes are buffered and, on reconnection, the live fix is sent
first and the buffer after it as one array, so the ingester sees late data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.paths import LocalPlane, Planner
from sim.payloads import Fix, Source

IntArray = npt.NDArray[np.int64]

#: Position sources of the v1 contract, indexed by the codes in ``FixBatch.src``.
SOURCES: tuple[Source, ...] = ("gnss", "bds", "wifi", "lbs")
_GNSS, _BDS, _WIFI, _LBS = range(4)
#: 68% radius to per-axis standard deviation of a circular Gaussian: r68 = 1.5096 sigma.
_R68_PER_SIGMA = 1.5096
#: Largest position error, in units of the reported ``acc``: a little inside the fix disk of the
#: geofence engine and ingest (2 x acc), leaving room for the local plane's scale (<1%) and the
#: rounding of coordinates (1e-6 degrees) and of ``acc`` (0.1 m).
MAX_ERROR_ACC = 1.9


@dataclass(frozen=True)
class Watch:
    """One simulated device: its id (``dw-0001``), planner and starting battery (%)."""

    device_id: str
    planner: Planner
    battery_pct: float = 90.0


@dataclass(frozen=True)
class Outgoing:
    """What one watch sends now: fixes as one message each, or one array message (a buffer)."""

    index: int
    fixes: tuple[Fix, ...]
    as_array: bool


def bounded_errors(
    rng: np.random.Generator, acc: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Position errors (east, north; metres) for fixes of 68% accuracy radii ``acc`` (metres):
    circular Gaussian, cut off at ``MAX_ERROR_ACC * acc``."""
    sigma = acc / _R68_PER_SIGMA
    ex = rng.normal(0.0, 1.0, len(acc)) * sigma
    ey = rng.normal(0.0, 1.0, len(acc)) * sigma
    scale = np.minimum(1.0, MAX_ERROR_ACC * acc / np.maximum(np.hypot(ex, ey), 1e-9))
    return ex * scale, ey * scale


class Fleet:
    """State of all watches; ``advance`` moves them, ``report`` makes their fixes."""

    def __init__(
        self,
        watches: Sequence[Watch],
        *,
        plane: LocalPlane,
        start_ms: int,
        seed: int,
        seq_start: int = 0,
        offline_mean_gap_s: float = 1800.0,
    ) -> None:
        n = len(watches)
        self.watches = list(watches)
        self.ids = [w.device_id for w in watches]
        self.plane = plane
        self.rng = np.random.default_rng(seed)
        home = np.array([w.planner.home for w in watches], dtype=np.float64).reshape(n, 2)
        self.hx, self.hy = home[:, 0].copy(), home[:, 1].copy()
        self.x, self.y = self.hx.copy(), self.hy.copy()
        self.tx, self.ty = self.x.copy(), self.y.copy()
        self.speed = np.zeros(n)
        self.heading = np.zeros(n)
        self.moving = np.zeros(n, dtype=bool)
        # Stagger the first decisions over a minute so watches do not all start together.
        self.free_at_ms = start_ms + self.rng.integers(0, 60_000, size=n)
        self.now_ms = start_ms
        self.seq = np.full(n, seq_start, dtype=np.int64)
        self.battery = np.array([w.battery_pct for w in watches], dtype=np.float64)
        self.drain_per_h = self.rng.uniform(2.0, 5.0, size=n)
        self.charging = np.zeros(n, dtype=bool)
        self.offline_until_ms = np.zeros(n, dtype=np.int64)
        self.offline_mean_gap_s = offline_mean_gap_s
        self.buffers: dict[int, list[Fix]] = {}
        self.odometer_m = np.zeros(n)

    def __len__(self) -> int:
        return len(self.ids)

    def advance(self, now_ms: int) -> None:
        """Move every watch to where it is at ``now_ms`` (not earlier than the last call)."""
        dt = max(0.0, (now_ms - self.now_ms) / 1000.0)
        self.now_ms = max(self.now_ms, now_ms)
        if dt > 0:
            self._move(dt)
            self._battery(dt)
        free = np.flatnonzero(~self.moving & (self.free_at_ms <= now_ms))
        for i in free:
            self._start_leg(int(i), now_ms)

    def _move(self, dt: float) -> None:
        m = self.moving
        dx, dy = self.tx[m] - self.x[m], self.ty[m] - self.y[m]
        dist = np.hypot(dx, dy)
        step = self.speed[m] * dt
        arrive = step >= dist
        frac = np.where(arrive, 1.0, step / np.maximum(dist, 1e-9))
        self.x[m] += dx * frac
        self.y[m] += dy * frac
        self.odometer_m[m] += np.minimum(step, dist)
        idx = np.flatnonzero(m)[arrive]
        self.moving[idx] = False

    def _battery(self, dt: float) -> None:
        hours = dt / 3600.0
        self.charging |= self.battery < 20.0
        self.charging &= self.battery < 95.0
        self.battery += np.where(self.charging, 30.0, -self.drain_per_h) * hours
        np.clip(self.battery, 1.0, 100.0, out=self.battery)

    def _start_leg(self, i: int, now_ms: int) -> None:
        leg = self.watches[i].planner.next_leg(float(self.x[i]), float(self.y[i]), now_ms, self.rng)
        dx, dy = leg.x - self.x[i], leg.y - self.y[i]
        dist = math.hypot(dx, dy)
        self.tx[i], self.ty[i], self.speed[i] = leg.x, leg.y, leg.speed_mps
        if dist > 0:
            self.heading[i] = math.degrees(math.atan2(dx, dy)) % 360.0
        self.moving[i] = dist > 0
        travel_ms = int(dist / max(leg.speed_mps, 0.1) * 1000)
        self.free_at_ms[i] = now_ms + travel_ms + int(leg.dwell_s * 1000)

    def positions(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """True positions of all watches, WGS84 ``(lon, lat)`` degrees."""
        return self.plane.to_lonlat(self.x, self.y)

    def fixes(self, idx: IntArray, now_ms: int) -> list[Fix]:
        """One reported fix per watch in ``idx`` at ``now_ms`` (advances their ``seq``)."""
        n = len(idx)
        rng = self.rng
        at_home = np.hypot(self.x[idx] - self.hx[idx], self.y[idx] - self.hy[idx]) < 30.0
        u = rng.random(n)
        p_wifi = np.where(at_home & ~self.moving[idx], 0.35, 0.06)
        src = np.where(u < 0.03, _LBS, np.where(u < 0.03 + p_wifi, _WIFI, _GNSS))
        src = np.where((src == _GNSS) & (rng.random(n) < 0.3), _BDS, src)
        acc = np.clip(rng.lognormal(math.log(6.0), 0.35, size=n), 3.0, 15.0)
        acc = np.where(rng.random(n) < 0.03, rng.uniform(15.0, 40.0, size=n), acc)
        acc = np.where(src == _WIFI, rng.uniform(30.0, 80.0, size=n), acc)
        acc = np.where(src == _LBS, rng.uniform(500.0, 1500.0, size=n), acc).round(1)
        ex, ey = bounded_errors(rng, acc)
        lon, lat = self.plane.to_lonlat(self.x[idx] + ex, self.y[idx] + ey)
        moving = self.moving[idx]
        spd = np.where(moving, self.speed[idx] * rng.uniform(0.9, 1.1, size=n), 0.0)
        sats = rng.integers(7, 19, size=n)
        alt = rng.uniform(3.0, 12.0, size=n)
        self.seq[idx] += 1
        seqs = self.seq[idx]
        out = []
        for k in range(n):
            i = int(idx[k])
            sat_fix = src[k] in (_GNSS, _BDS)
            out.append(
                Fix(
                    ts=now_ms,
                    lat=round(float(lat[k]), 6),
                    lon=round(float(lon[k]), 6),
                    acc=float(acc[k]),
                    src=SOURCES[src[k]],
                    seq=int(seqs[k]),
                    alt=round(float(alt[k]), 1) if sat_fix else None,
                    spd=round(float(spd[k]), 2) if sat_fix else None,
                    hdg=round(float(self.heading[i]), 1) if sat_fix and moving[k] else None,
                    batt=int(self.battery[i]),
                    sat=int(sats[k]) if sat_fix else None,
                )
            )
        return out

    def report(self, idx: IntArray, now_ms: int, *, interval_s: float) -> list[Outgoing]:
        """What the watches in ``idx`` send at ``now_ms``, with offline buffering.

        A watch goes offline with probability ``interval_s / offline_mean_gap_s`` per fix, for
        30-150 s; while offline its fixes are buffered; the first fix after that is sent live,
        then the buffer as one array.
        """
        fixes = self.fixes(idx, now_ms)
        out: list[Outgoing] = []
        p_drop = min(1.0, interval_s / self.offline_mean_gap_s) if self.offline_mean_gap_s else 0
        drops = self.rng.random(len(idx)) < p_drop
        for k, fix in enumerate(fixes):
            i = int(idx[k])
            if now_ms < self.offline_until_ms[i]:
                self.buffers.setdefault(i, []).append(fix)
                continue
            out.append(Outgoing(i, (fix,), as_array=False))
            buffered = self.buffers.pop(i, None)
            if buffered:
                out.append(Outgoing(i, tuple(buffered), as_array=True))
            if drops[k]:
                self.offline_until_ms[i] = now_ms + int(self.rng.uniform(30_000, 150_000))
        return out

    def online(self, now_ms: int) -> npt.NDArray[np.bool_]:
        """Which watches are connected at ``now_ms``."""
        return np.asarray(self.offline_until_ms <= now_ms, dtype=bool)
