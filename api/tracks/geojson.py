"""Pure conversion of a track to GeoJSON (RFC 7946: WGS84, [lon, lat]; on request GCJ-02 or BD-09
for a Chinese web map, named by the foreign member ``datum``).

Features are msgspec structs, not dicts: a month of fixes is tens of thousands of them, and
structs without garbage-collector tracking (they hold no cycles) are built and encoded several
times faster, with the same JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import numpy as np

from api.tracks.analysis import VERDICT_NAMES, IntArray, Track, Verdict
from api.tracks.datums import Datum, convert
from api.tracks.times import isoformat

#: Verdict names indexed by ``Verdict`` value.
_NAMES = np.array(VERDICT_NAMES, dtype=object)


class Point(msgspec.Struct, tag_field="type", tag="Point", gc=False):
    """A GeoJSON Point geometry: [lon, lat] in WGS84 degrees."""

    coordinates: tuple[float, float]


class FixProperties(msgspec.Struct, gc=False):
    """What a track point says besides where: ``time`` in the case's zone and ``time_utc`` (ISO
    8601, milliseconds), ``acc_m`` the 68% radius in metres, ``src`` gnss|bds|lbs|wifi,
    ``verdict`` what evaluation found of it: ``violation`` (certain), ``uncertain`` (its disk
    straddled a zone's edge), ``compliant`` or ``not_judged`` (no positional rule in force)."""

    device_id: str
    seq: int
    time: str
    time_utc: str
    acc_m: float
    src: str
    verdict: str


class Feature(msgspec.Struct, tag_field="type", tag="Feature", gc=False):
    geometry: Point
    properties: FixProperties


def track_feature_collection(
    track: Track,
    indices: IntArray,
    *,
    case_id: int,
    tz: ZoneInfo,
    range_from: datetime,
    range_to: datetime,
    tolerance_m: float | None,
    datum: Datum = Datum.WGS84,
) -> dict[str, Any]:
    """A FeatureCollection with one Point feature per kept fix (``indices``), in fix-time order,
    its coordinates in ``datum``, and the collection's own properties (counts, range, tolerance
    in metres)."""
    t_us = track.t_ms[indices] * 1000
    rows = indices.tolist()
    lon, lat = convert(datum, track.lon[indices], track.lat[indices])
    columns = zip(
        lon.tolist(), lat.tolist(),
        [track.device_id[i] for i in rows], track.seq[indices].tolist(),
        isoformat(t_us, tz, timespec="milliseconds"),
        isoformat(t_us, UTC, timespec="milliseconds"), track.acc[indices].tolist(),
        [track.src[i] for i in rows], _NAMES[track.verdict[indices]].tolist(),
        strict=True,
    )  # fmt: skip
    features = [
        Feature(Point((lon, lat)), FixProperties(device_id, seq, time, time_utc, acc, src, verdict))
        for lon, lat, device_id, seq, time, time_utc, acc, src, verdict in columns
    ]
    counts = np.bincount(track.verdict, minlength=len(Verdict))
    return {
        "type": "FeatureCollection",
        "datum": datum.value,
        "features": features,
        "properties": {
            "case_id": case_id,
            "timezone": tz.key,
            "datum": datum.value,
            "from": range_from.astimezone(tz).isoformat(),
            "to": range_to.astimezone(tz).isoformat(),
            "count": len(features),
            "fixes_in_range": len(track),
            "simplify_tolerance_m": tolerance_m,
            "violation_fixes": int(counts[Verdict.violation]),
            "fixes_by_verdict": {v.name: int(counts[v]) for v in Verdict},
            "generated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
