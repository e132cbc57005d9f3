"""Pure track analysis: arrays of fixes, which fixes show a violation, simplification in metres.

A fix "shows a violation" when an alert cites it as evidence, or when its disk (see
``geofence.relation``) is certainly outside a ``stay_inside`` zone or certainly inside a
``stay_outside`` zone of the case. Simplification (Douglas-Peucker with a tolerance in metres, in
a local transverse Mercator projection) always keeps those fixes, the first and the last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from geofence.geodesy import local_projection, wrap_degrees
from geofence.models import Zone, ZoneKind
from geofence.relation import INSIDE, OUTSIDE, CompiledArea, disk_radius, relate_circles
from geofence.zones import parse_zone

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

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
    evidence: BoolArray

    @classmethod
    def from_packed(
        cls,
        row: Mapping[str, Any],
        *,
        device_id: list[str],
        src: list[str],
        evidence_keys: Iterable[tuple[str, datetime, int]],
    ) -> Track:
        """From a ``store.pings.SELECT_TRACK_PACKED`` row, its text columns (see ``unpack_text``)
        and the fix keys alerts cite as evidence (``store.pings.SELECT_EVIDENCE_KEYS``)."""
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
            evidence=mark_evidence(t_us, seq, device_id, evidence_keys),
        )

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
    parts = (joined or "").split("\n")
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
        n = len(track)
        return relate_circles(
            track.lon, track.lat, radius, np.full(n, centre.x), np.full(n, centre.y),
            np.full(n, zone.radius_m),
        )  # fmt: skip
    return compiled(zone).relate(track.lon, track.lat, radius)


def violation_mask(track: Track, zones: Iterable[RuleZone]) -> BoolArray:
    """True for fixes cited as evidence or certainly on the wrong side of a zone."""
    mask = track.evidence.copy()
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
