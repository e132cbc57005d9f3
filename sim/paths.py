"""Pure path generation: where a simulated watch goes next (no I/O, no clocks of its own).

Geometry is done in a local plane: an equirectangular projection centred on Dongying, in metres
(``x`` east, ``y`` north). It is an affine map of longitude/latitude, so straight lines and polygon
containment are exactly those of the WGS84 coordinates the geofence engine sees; distances are off
by under 1% across the city (scale varies with cos(latitude)), which is plenty for a simulator.

A watch moves along *legs*: a straight segment to a target at a constant speed, then a dwell. A
planner picks the next leg when the previous one (and its dwell) is over:

- ``RoamPlanner``: random waypoints near home, each leg (and the way from the waypoint back home)
  inside the allowed area, which is the permitted zone shrunk by a margin minus any exclusion
  zones grown by a margin. Routes therefore never touch a zone the rules forbid.
- ``CurfewPlanner``: roams, but heads home an hour before a curfew window and stays there until
  it ends (22:00-06:00 Asia/Shanghai for DY-2026-002).
- ``WanderPlanner``: roams, then at set times drives out of the city through a *gate* (west/south
  west), stays out, and drives back (DY-2026-003).

Times are epoch milliseconds (UTC); speeds m/s; distances and durations metres and seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M

#: Travel speeds by mode, m/s: walking, bicycle/e-bike, car in town and on county roads.
WALK_MPS = (1.0, 1.6)
BIKE_MPS = (3.0, 6.0)
CAR_MPS = (8.0, 16.0)


@dataclass(frozen=True)
class LocalPlane:
    """Equirectangular plane (metres) tangent at ``(lon0, lat0)`` degrees."""

    lon0: float
    lat0: float

    @property
    def _kx(self) -> float:
        return _M_PER_DEG * math.cos(math.radians(self.lat0))

    def to_xy(
        self, lon: FloatArray | float, lat: FloatArray | float
    ) -> tuple[FloatArray, FloatArray]:
        """Degrees to plane metres (arrays in, arrays out)."""
        lon_a = np.asarray(lon, dtype=np.float64)
        lat_a = np.asarray(lat, dtype=np.float64)
        return (lon_a - self.lon0) * self._kx, (lat_a - self.lat0) * _M_PER_DEG

    def to_lonlat(
        self, x: FloatArray | float, y: FloatArray | float
    ) -> tuple[FloatArray, FloatArray]:
        """Plane metres to degrees (arrays in, arrays out)."""
        x_a = np.asarray(x, dtype=np.float64)
        y_a = np.asarray(y, dtype=np.float64)
        return self.lon0 + x_a / self._kx, self.lat0 + y_a / _M_PER_DEG

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        """One ``(lon, lat)`` in degrees as plane ``(x, y)`` metres."""
        x, y = self.to_xy(lon, lat)
        return float(x), float(y)

    def geometry(self, geom: BaseGeometry) -> BaseGeometry:
        """A WGS84 (lon/lat) shapely geometry mapped into the plane."""
        return shapely.transform(geom, lambda c: np.column_stack(self.to_xy(c[:, 0], c[:, 1])))


#: The plane used for everything in Dongying (centre of the city's bounding box).
DONGYING_PLANE = LocalPlane(118.70, 37.55)


@dataclass(frozen=True)
class Leg:
    """Go straight to ``(x, y)`` (plane metres) at ``speed_mps``, then stay ``dwell_s`` seconds."""

    x: float
    y: float
    speed_mps: float
    dwell_s: float


class Planner(Protocol):
    """Chooses a watch's next leg; called when the previous leg and its dwell are over."""

    @property
    def home(self) -> tuple[float, float]:
        """Home, plane metres: where the watch starts and where it may always return."""
        ...

    def next_leg(self, x: float, y: float, now_ms: int, rng: np.random.Generator) -> Leg: ...


@dataclass(frozen=True)
class Area:
    """Where a watch may roam: inside ``allowed`` (plane metres) and within ``radius_m`` of home.

    Waypoints are kept within the radius; the straight segments between them then stay within it
    too (a disk is convex), so ``allowed`` itself need not be clipped to it.
    """

    allowed: BaseGeometry
    home: tuple[float, float]
    radius_m: float

    def __post_init__(self) -> None:
        if not self.allowed.covers(Point(self.home)):
            raise ValueError(f"home {self.home} is not inside the allowed area")

    def covers_segments(
        self, x0: float, y0: float, xs: FloatArray, ys: FloatArray
    ) -> npt.NDArray[np.bool_]:
        """Whether each segment from ``(x0, y0)`` to ``(xs[i], ys[i])`` lies inside the area."""
        coords = np.empty((len(xs), 2, 2))
        coords[:, 0, 0], coords[:, 0, 1] = x0, y0
        coords[:, 1, 0], coords[:, 1, 1] = xs, ys
        lines = shapely.linestrings(coords)
        return np.asarray(shapely.covers(self.allowed, lines), dtype=bool)


def allowed_area(
    zone: BaseGeometry,
    *,
    margin_m: float = 250.0,
    exclusions: Sequence[BaseGeometry] = (),
    exclusion_margin_m: float = 500.0,
) -> BaseGeometry:
    """Where routes may go (plane metres, prepared): ``zone`` shrunk by ``margin_m``, minus
    exclusion zones grown by ``exclusion_margin_m``. Share one among watches of the same zone."""
    allowed = zone.buffer(-margin_m)
    for ex in exclusions:
        allowed = allowed.difference(ex.buffer(exclusion_margin_m))
    shapely.prepare(allowed)
    return allowed


def _speed(rng: np.random.Generator, distance_m: float) -> float:
    """A plausible speed (m/s) for a trip of ``distance_m``: walk, ride or drive."""
    if distance_m < 800:
        lo, hi = WALK_MPS
    elif distance_m < 3000:
        lo, hi = BIKE_MPS
    else:
        lo, hi = CAR_MPS
    return float(rng.uniform(lo, hi))


@dataclass
class RoamPlanner:
    """Random trips near home: waypoints ``hop_m`` apart, each in straight sight of home.

    Every leg and every waypoint's straight way home lie inside ``area``, so any planner may send
    the watch home from a waypoint without leaving it. ``dwell_s`` is the range of stops in seconds.
    """

    area: Area
    hop_m: tuple[float, float] = (200.0, 2000.0)
    dwell_s: tuple[float, float] = (30.0, 900.0)
    candidates: int = 12

    @property
    def home(self) -> tuple[float, float]:
        return self.area.home

    def waypoint(
        self, x: float, y: float, rng: np.random.Generator, *, max_hop_m: float = math.inf
    ) -> tuple[float, float] | None:
        """A new waypoint reachable from ``(x, y)``, or None when no candidate fits."""
        n = self.candidates
        lo, hi = self.hop_m
        dist = rng.uniform(lo, max(lo, min(hi, max_hop_m)), size=n)
        ang = rng.uniform(0.0, 2.0 * math.pi, size=n)
        xs, ys = x + dist * np.cos(ang), y + dist * np.sin(ang)
        hx, hy = self.area.home
        near = np.hypot(xs - hx, ys - hy) <= self.area.radius_m
        inside = np.asarray(shapely.contains_xy(self.area.allowed, xs, ys), dtype=bool)
        ok = np.flatnonzero(near & inside)
        if ok.size == 0:
            return None
        xs, ys = xs[ok], ys[ok]
        good = self.area.covers_segments(x, y, xs, ys) & self.area.covers_segments(hx, hy, xs, ys)
        first = np.flatnonzero(good)
        if first.size == 0:
            return None
        return float(xs[first[0]]), float(ys[first[0]])

    def roam_leg(self, x: float, y: float, rng: np.random.Generator, *, max_dwell_s: float) -> Leg:
        """A trip to a new waypoint, or home when none fits (home is always reachable).

        With a finite ``max_dwell_s`` (a planner's next appointment) the hop is shortened so that
        even on foot the trip takes about that long at most.
        """
        max_hop = WALK_MPS[0] * max_dwell_s if math.isfinite(max_dwell_s) else math.inf
        target = self.waypoint(x, y, rng, max_hop_m=max_hop) or self.area.home
        dist = math.hypot(target[0] - x, target[1] - y)
        speed = _speed(rng, dist)
        dwell = min(float(rng.uniform(*self.dwell_s)), max(0.0, max_dwell_s - dist / speed))
        return Leg(target[0], target[1], speed, dwell)

    def next_leg(self, x: float, y: float, now_ms: int, rng: np.random.Generator) -> Leg:
        return self.roam_leg(x, y, rng, max_dwell_s=math.inf)


@dataclass(frozen=True)
class DailyWindow:
    """A curfew window: local ``start``-``end`` (minutes after midnight) on ``days`` (0=Monday).

    When ``end <= start`` the window crosses midnight and ends the next day.
    """

    days: frozenset[int]
    start_min: int
    end_min: int


def parse_schedule(schedule: dict[str, object]) -> tuple[ZoneInfo, list[DailyWindow]]:
    """The ``case_rules.schedule`` JSON (``{"timezone", "windows": [{days, start, end}]}``)."""
    tz = ZoneInfo(str(schedule["timezone"]))
    windows = []
    raw = schedule["windows"]
    assert isinstance(raw, list)
    for w in raw:
        sh, sm = (int(p) for p in str(w["start"]).split(":"))
        eh, em = (int(p) for p in str(w["end"]).split(":"))
        windows.append(
            DailyWindow(frozenset(int(d) for d in w["days"]), sh * 60 + sm, eh * 60 + em)
        )
    return tz, windows


def window_intervals(
    tz: ZoneInfo, windows: Sequence[DailyWindow], now_ms: int
) -> list[tuple[int, int]]:
    """The windows' occurrences from yesterday to the day after tomorrow, as epoch-ms intervals."""
    local = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(tz)
    out = []
    for offset in (-1, 0, 1, 2):
        day = (local + timedelta(days=offset)).date()
        for w in windows:
            if day.weekday() not in w.days:
                continue
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            start = midnight + timedelta(minutes=w.start_min)
            end_day = midnight + timedelta(days=1 if w.end_min <= w.start_min else 0)
            end = end_day + timedelta(minutes=w.end_min)
            out.append((int(start.timestamp() * 1000), int(end.timestamp() * 1000)))
    return sorted(out)


@dataclass
class CurfewPlanner:
    """Roams by day; home ``lead_s`` before each curfew window and there until it ends."""

    roam: RoamPlanner
    tz: ZoneInfo
    windows: Sequence[DailyWindow]
    lead_s: float = 3600.0

    @property
    def home(self) -> tuple[float, float]:
        return self.roam.home

    def next_leg(self, x: float, y: float, now_ms: int, rng: np.random.Generator) -> Leg:
        lead_ms = int(self.lead_s * 1000)
        intervals = window_intervals(self.tz, self.windows, now_ms)
        for start, end in intervals:
            if start - lead_ms <= now_ms < end:
                hx, hy = self.home
                dist = math.hypot(hx - x, hy - y)
                speed = _speed(rng, dist) if dist < 800 else float(rng.uniform(*CAR_MPS))
                dwell = (end - now_ms) / 1000 + float(rng.uniform(0, 1800))
                return Leg(hx, hy, speed, dwell)
        upcoming = [s - lead_ms for s, _ in intervals if s - lead_ms > now_ms]
        until = (min(upcoming) - now_ms) / 1000 if upcoming else math.inf
        return self.roam.roam_leg(x, y, rng, max_dwell_s=until)


@dataclass(frozen=True)
class Excursion:
    """A way out of a zone: drive from home to ``gate`` (inside), then to ``outside``."""

    gate: tuple[float, float]
    outside: tuple[float, float]
    bearing_deg: float


def plan_excursion(
    zone: BaseGeometry,
    home: tuple[float, float],
    *,
    bearings_deg: Sequence[float] = tuple(range(200, 295, 5)),
    inside_margin_m: float = 400.0,
    beyond_m: float = 4000.0,
    clearance_m: float = 2000.0,
) -> Excursion:
    """The shortest straight way out of ``zone`` (plane metres) from ``home`` on the bearings.

    Bearings are degrees clockwise from north (225 = south-west, 270 = west). The gate lies
    ``inside_margin_m`` before the first boundary crossing; the outside point ``beyond_m`` past it
    and at least ``clearance_m`` from the zone, so fixes there are certainly outside.
    """
    best: Excursion | None = None
    best_d = math.inf
    boundary = zone.boundary
    for b in bearings_deg:
        dx, dy = math.sin(math.radians(b)), math.cos(math.radians(b))
        ray = LineString([home, (home[0] + dx * 60_000, home[1] + dy * 60_000)])
        hit = ray.intersection(boundary)
        if hit.is_empty:
            continue
        d = min(ray.project(p) for p in getattr(hit, "geoms", [hit]))
        outside = (home[0] + dx * (d + beyond_m), home[1] + dy * (d + beyond_m))
        gate = (home[0] + dx * (d - inside_margin_m), home[1] + dy * (d - inside_margin_m))
        if d < best_d and zone.distance(Point(outside)) >= clearance_m:
            best, best_d = Excursion(gate, outside, float(b)), d
    if best is None:
        raise ValueError("no way out of the zone on the given bearings")
    return best


@dataclass
class WanderPlanner:
    """Roams, then every ``every_s`` (first after ``after_s``) drives out through the excursion.

    Out there it stays about ``out_s`` seconds (a stop and a short walk), then drives back home.
    """

    roam: RoamPlanner
    excursion: Excursion
    start_ms: int
    after_s: float = 180.0
    out_s: float = 600.0
    every_s: float = 3600.0
    _queue: list[Leg] = field(default_factory=list)
    _next_ms: int | None = None

    @property
    def home(self) -> tuple[float, float]:
        return self.roam.home

    def next_leg(self, x: float, y: float, now_ms: int, rng: np.random.Generator) -> Leg:
        if self._next_ms is None:
            self._next_ms = self.start_ms + int(self.after_s * 1000)
        if self._queue:
            return self._queue.pop(0)
        if now_ms >= self._next_ms:
            self._next_ms = now_ms + int(self.every_s * 1000)
            self._queue = self._excursion_legs(rng)
            return self._queue.pop(0)
        until = (self._next_ms - now_ms) / 1000
        return self.roam.roam_leg(x, y, rng, max_dwell_s=until)

    def _excursion_legs(self, rng: np.random.Generator) -> list[Leg]:
        (hx, hy), (gx, gy), (ox, oy) = self.home, self.excursion.gate, self.excursion.outside
        ang = float(rng.uniform(0, 2 * math.pi))
        wx, wy = ox + 300 * math.cos(ang), oy + 300 * math.sin(ang)

        def car() -> float:
            return float(rng.uniform(*CAR_MPS))

        walk = float(rng.uniform(*WALK_MPS))
        stop = max(0.0, self.out_s - 2 * 300 / walk) / 2
        return [
            Leg(hx, hy, car(), 0.0),
            Leg(gx, gy, car(), 0.0),
            Leg(ox, oy, car(), stop),
            Leg(wx, wy, walk, 0.0),
            Leg(ox, oy, walk, stop),
            Leg(gx, gy, car(), 0.0),
            Leg(hx, hy, car(), float(rng.uniform(60, 600))),
        ]
