"""Pure track analysis: arrays of fixes, the verdict each fix had, simplification in metres.

Each fix carries the verdict evaluation gave it (:class:`Verdict`): a certain ``violation`` when
an alert of a positional violation kind cites it, ``uncertain`` when only a "location uncertain"
alert does (its disk straddled a zone edge), ``compliant`` when a positional rule of the case was
in force at its time and no such alert cites it, ``not_judged`` otherwise. Simplification
(Douglas-Peucker with a tolerance in metres, in a local transverse Mercator projection) always
keeps the violating and uncertain fixes, the fixes whose disk (``geofence.relation``) is
certainly on the wrong side of a zone, the first and the last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from alerts.kinds import AlertKind
from geofence.geodesy import local_projection, wrap_degrees
from geofence.models import Zone, ZoneKind
from geofence.relation import INSIDE, OUTSIDE, CompiledArea, disk_radius, relate_circles
from geofence.zones import parse_zone

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]


class Verdict(IntEnum):
    """What evaluation found of one fix; a fix several alerts cite takes the highest."""

    not_judged = 0
    compliant = 1
    uncertain = 2
    violation = 3


#: ``Verdict`` names by value, for the exports.
VERDICT_NAMES = tuple(v.name for v in Verdict)

#: Alert kinds whose evidence is a certain violation of a positional rule.
CERTAIN_KINDS = (
    AlertKind.left_permitted_area, AlertKind.entered_exclusion_zone,
    AlertKind.crossed_exclusion_zone, AlertKind.curfew_broken,
    AlertKind.too_close_to_protected_person, AlertKind.overdue_return,
)  # fmt: skip
#: Alert kinds whose evidence is a position evaluation could not decide.
UNCERTAIN_KINDS = (AlertKind.location_uncertain,)

#: PostgreSQL's epoch (2000-01-01 UTC) in Unix microseconds.
PG_EPOCH_US = 946_684_800_000_000
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Track:
    """Parallel arrays of one case's fixes in fix-time order (times in epoch ms, acc in m)."""

    device_id: list[str]
    t_ms: IntArray
    seq: IntArray
    lon: FloatArray
    lat: FloatArray
    acc: FloatArray
    src: list[str]
    verdict: Int8Array

    @classmethod
    def from_packed(
        cls,
        row: Mapping[str, Any],
        *,
        device_id: list[str],
        src: list[str],
        cited: Iterable[tuple[str, datetime, int, bool]],
        judged: Iterable[tuple[datetime | None, datetime | None]],
    ) -> Track:
        """From a ``store.pings.SELECT_TRACK_PACKED`` row, its text columns (see ``unpack_text``),
        the fixes alerts cite (``store.positions.SELECT_CITED_FIXES``: key and whether the
        citation is a certain violation) and the windows positional rules were in force
        (``store.positions.SELECT_JUDGED_WINDOWS``)."""
        t_us = packed(row["t_us"], ">i8") + PG_EPOCH_US
        seq = packed(row["seq"], ">i8")
        return cls(
            device_id=device_id,
            t_ms=(t_us + 500) // 1000,
            seq=seq,
            lon=packed(row["lon"], ">f8"),
            lat=packed(row["lat"], ">f8"),
            acc=packed(row["acc"], ">f4"),
            src=src,
            verdict=verdicts(t_us, seq, device_id, cited, judged),
        )

    @property
    def evidence(self) -> BoolArray:
        """True for the fixes that showed a certain violation."""
        found: BoolArray = self.verdict == Verdict.violation
        return found

    def __len__(self) -> int:
        return int(self.t_ms.size)


def packed(data: bytes | None, dtype: str) -> npt.NDArray[Any]:
    """A column of ``SELECT_TRACK_PACKED`` (big-endian binary values) as a native numpy array;
    ``float4`` widens to ``float64`` exactly."""
    values = np.frombuffer(data or b"", dtype=np.dtype(dtype))
    return values.astype(np.float64 if values.dtype.kind == "f" else np.int64)


def unpack_text(joined: str | None, n: int) -> list[str] | None:
    """The ``n`` values SQL joined with newlines, or None when one of them held a newline."""
    if n == 0:
        return []
    text = joined or ""
    first = text.split("\n", 1)[0]
    if len(text) == n * (len(first) + 1) - 1 and text == "\n".join([first] * n):
        return [first] * n  # one value throughout (one watch, one source): no split needed
    parts = text.split("\n")
    return parts if len(parts) == n else None


def mark_evidence(
    t_us: IntArray, seq: IntArray, device_id: list[str], keys: Iterable[tuple[str, datetime, int]]
) -> BoolArray:
    """True for the fixes whose (device_id, fix_time, seq) is one of ``keys``; ``t_us`` (Unix
    microseconds) is sorted, so each key is found by bisection."""
    mark = np.zeros(t_us.size, dtype=bool)
    for dev, fix_time, key_seq in keys:
        t = (fix_time - _UNIX_EPOCH) // _US
        lo, hi = np.searchsorted(t_us, [t, t + 1])
        for i in range(int(lo), int(hi)):
            if seq[i] == key_seq and device_id[i] == dev:
                mark[i] = True
    return mark


def _us(at: datetime) -> int:
    return (at - _UNIX_EPOCH) // _US


def judged_mask(
    t_us: IntArray, windows: Iterable[tuple[datetime | None, datetime | None]]
) -> BoolArray:
    """True for the fixes (sorted Unix microseconds ``t_us``) inside one of ``windows``
    ([start, stop), None: unbounded)."""
    mask = np.zeros(t_us.size, dtype=bool)
    for start, stop in windows:
        lo = 0 if start is None else int(np.searchsorted(t_us, _us(start)))
        hi = t_us.size if stop is None else int(np.searchsorted(t_us, _us(stop)))
        mask[lo:hi] = True
    return mask


def verdicts(
    t_us: IntArray,
    seq: IntArray,
    device_id: list[str],
    cited: Iterable[tuple[str, datetime, int, bool]],
    judged: Iterable[tuple[datetime | None, datetime | None]],
) -> Int8Array:
    """The :class:`Verdict` of each fix: ``compliant`` inside a ``judged`` window, else
    ``not_judged``, raised to ``violation`` (``certain``) or ``uncertain`` where ``cited``."""
    out = np.where(judged_mask(t_us, judged), Verdict.compliant, Verdict.not_judged)
    out = out.astype(np.int8)
    cited = list(cited)
    for certain in (False, True):
        keys = [(d, t, s) for d, t, s, c in cited if c is certain]
        found = mark_evidence(t_us, seq, device_id, keys)
        out[found] = Verdict.violation if certain else Verdict.uncertain
    return out


@dataclass(frozen=True)
class RuleZone:
    """A zoned rule of the case with its zone in WGS84."""

    rule_id: int
    kind: str
    zone: Zone


def rule_zones(rows: Iterable[Mapping[str, Any]]) -> list[RuleZone]:
    """Zones of ``store.rules.SELECT_ZONED_RULES`` rows (already WGS84; invalid ones skipped)."""
    out = []
    for r in rows:
        zone = parse_zone(
            r["zone_id"], r["geometry"], datum="wgs84", radius_m=r["radius_m"],
            width_m=r["width_m"], name=r["name"],
        )  # fmt: skip
        out.append(RuleZone(r["rule_id"], r["kind"], zone))
    return out


@lru_cache(maxsize=256)
def compiled(zone: Zone) -> CompiledArea:
    """The compiled form of a polygon or corridor zone, kept across requests (compiling a city
    boundary takes ~0.1 s; a zone whose geometry changes is a different cache key)."""
    return CompiledArea(zone)


def relate(track: Track, zone: Zone) -> npt.NDArray[np.int8]:
    """Relation codes (``geofence.relation`` INSIDE/OUTSIDE/UNCERTAIN) of every fix to ``zone``."""
    radius = disk_radius(track.acc)
    if zone.kind is ZoneKind.CIRCLE:
        assert zone.radius_m is not None
        centre = zone.geometry
        return relate_circle(track.lon, track.lat, radius, centre.x, centre.y, zone.radius_m)
    return compiled(zone).relate(track.lon, track.lat, radius)


#: Metres a degree of latitude spans at least (110,574 m at the equator), and a degree of
#: longitude at least, times the cosine of the latitude (111,319 m times it).
_M_PER_DEGREE = 110_000.0
#: How far (m) beyond a circle and its disk a fix must be, by that lower bound, to be related
#: without the exact computation.
_FAR_SLACK_M = 1_000.0


def relate_circle(
    lon: FloatArray, lat: FloatArray, radius: FloatArray, lon0: float, lat0: float, circle_m: float
) -> npt.NDArray[np.int8]:
    """``geofence.relation.relate_circles`` against one circle, computed only for the fixes that
    may be near it: a fix whose latitude or longitude alone puts it over 1 km beyond the circle
    and its disk (by a lower bound of the distance) is OUTSIDE, as the exact computation would
    find. A year of fixes is mostly far from a victim's 300 m circle."""
    limit = circle_m + radius + _FAR_SLACK_M
    far = np.abs(lat - lat0) * _M_PER_DEGREE > limit
    reach = float(limit.max(initial=0.0)) / _M_PER_DEGREE
    if abs(lat0) + reach < 89.0:
        # Fixes not far in latitude lie within ``reach`` of the centre's: the cosine of their
        # mean latitude with it is at least ``cos_low``.
        cos_low = float(np.cos(np.radians(abs(lat0) + reach)))
        far |= np.abs(wrap_degrees(lon - lon0)) * (_M_PER_DEGREE * cos_low) > limit
    out = np.full(lon.shape, OUTSIDE, dtype=np.int8)
    near = np.flatnonzero(~far)
    if near.size:
        k = near.size
        out[near] = relate_circles(
            lon[near], lat[near], radius[near], np.full(k, lon0), np.full(k, lat0),
            np.full(k, circle_m),
        )  # fmt: skip
    return out


def keep_mask(track: Track, zones: Iterable[RuleZone]) -> BoolArray:
    """The fixes simplification keeps: those that showed a violation or an uncertain position,
    and those certainly on the wrong side of a zone (permits aside)."""
    mask = track.verdict >= Verdict.uncertain
    if len(track) == 0:
        return mask
    for rz in zones:
        if rz.kind == "stay_inside":
            mask |= relate(track, rz.zone) == OUTSIDE
        elif rz.kind == "stay_outside":
            mask |= relate(track, rz.zone) == INSIDE
    return mask


#: Farthest a track may reach (degrees of longitude from its centre) for the fast transverse
#: Mercator series, which is within 5 mm of the exact one there (``geodesy.LocalProjection``).
APPROX_SPAN_DEG = 10.0


def project(track: Track) -> tuple[FloatArray, FloatArray]:
    """Fixes in metres in a transverse Mercator centred on the track's median position (the
    fast series when the track stays within ``APPROX_SPAN_DEG`` of it, the exact one if not)."""
    lon0 = round(float(np.median(track.lon)), 3)
    lat0 = round(float(np.median(track.lat)), 3)
    near = float(np.abs(wrap_degrees(track.lon - lon0)).max()) <= APPROX_SPAN_DEG
    return local_projection(lon0, lat0, approx=near).forward(track.lon, track.lat)


def simplify(track: Track, tolerance_m: float, keep: BoolArray) -> IntArray:
    """Indices of the fixes kept by Douglas-Peucker at ``tolerance_m`` metres, plus ``keep``."""
    n = len(track)
    if n <= 2 or tolerance_m <= 0:
        return np.arange(n, dtype=np.int64)
    x, y = project(track)
    # Each vertex carries its fix's index as z: Douglas-Peucker measures in x, y only and keeps
    # the vertices it keeps whole, so the kept indices are read back directly.
    line = shapely.linestrings(x, y, np.arange(n, dtype=np.float64))
    kept = shapely.get_coordinates(
        shapely.simplify(line, tolerance_m, preserve_topology=False), include_z=True
    )
    chosen = keep.copy()
    chosen[kept[:, 2].astype(np.int64)] = True
    chosen[0] = chosen[-1] = True
    return np.flatnonzero(chosen).astype(np.int64)
