"""Pure conversion of a track to GeoJSON (RFC 7946: WGS84, [lon, lat])."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from api.tracks.analysis import BoolArray, IntArray, Track
from api.tracks.times import isoformat


def track_feature_collection(
    track: Track,
    indices: IntArray,
    violation: BoolArray,
    *,
    case_id: int,
    tz: ZoneInfo,
    range_from: datetime,
    range_to: datetime,
    tolerance_m: float | None,
) -> dict[str, Any]:
    """A FeatureCollection with one Point feature per kept fix, in fix-time order.

    Times are shown in the case's zone (``time``) and in UTC (``time_utc``); ``acc_m`` is the
    68% radius in metres; ``src`` is gnss|bds|lbs|wifi; ``violation`` marks fixes kept because
    they show a violation.
    """
    t_us = track.t_ms[indices] * 1000
    columns = zip(
        track.lon[indices].tolist(), track.lat[indices].tolist(),
        [track.device_id[i] for i in indices.tolist()], track.seq[indices].tolist(),
        isoformat(t_us, tz, timespec="milliseconds"),
        isoformat(t_us, UTC, timespec="milliseconds"), track.acc[indices].tolist(),
        [track.src[i] for i in indices.tolist()], violation[indices].tolist(), strict=True,
    )  # fmt: skip
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "device_id": device_id,
                "seq": seq,
                "time": time,
                "time_utc": time_utc,
                "acc_m": acc,
                "src": src,
                "violation": viol,
            },
        }
        for lon, lat, device_id, seq, time, time_utc, acc, src, viol in columns
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "case_id": case_id,
            "timezone": tz.key,
            "from": range_from.astimezone(tz).isoformat(),
            "to": range_to.astimezone(tz).isoformat(),
            "count": len(features),
            "fixes_in_range": len(track),
            "simplify_tolerance_m": tolerance_m,
            "violation_fixes": int(np.count_nonzero(violation)),
            "generated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
