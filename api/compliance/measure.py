"""Pure measurements of a track for the compliance report: time outside, time uncertain.

Each fix stands for the time until the next one, capped at twice the expected interval (a fix
cannot vouch for a silence); the last fix stands for one interval. Times are seconds. Coverage
and silences are in ``api.compliance.coverage``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from api.tracks.analysis import BoolArray, FloatArray, RuleZone, Track, relate
from geofence.relation import INSIDE, OUTSIDE, UNCERTAIN


@dataclass(frozen=True)
class Measures:
    outside_s: float
    uncertain_s: float
    #: Fixes certainly on the wrong side of a zone outside permits (they count as time outside).
    outside_mask: BoolArray
    #: Fixes certainly on the wrong side of a zone, permits aside (a return after a permit).
    wrong_mask: BoolArray
    #: Fixes whose disk straddles the edge of a stay-inside or stay-outside zone, permits aside.
    uncertain_mask: BoolArray


def weights_s(track: Track, interval_s: float, end_ms: int) -> FloatArray:
    """Seconds each fix stands for."""
    if len(track) == 0:
        return np.zeros(0)
    nxt = np.append(track.t_ms[1:], min(end_ms, int(track.t_ms[-1] + interval_s * 1000)))
    return np.minimum((nxt - track.t_ms) / 1000.0, 2 * interval_s)


def measure(
    track: Track,
    zones: Iterable[RuleZone],
    *,
    end_ms: int,
    interval_s: float,
    permit_windows_ms: Iterable[tuple[int, int]],
) -> Measures:
    """Time certainly on the wrong side of a zone (outside permits) and time uncertain, and
    the masks they come from (each zone is related to the track once)."""
    received = len(track)
    excused = np.zeros(received, dtype=bool)
    for a, b in permit_windows_ms:
        excused |= (track.t_ms >= a) & (track.t_ms < b)
    wrong = np.zeros(received, dtype=bool)
    unsure = np.zeros(received, dtype=bool)
    for rz in zones:
        if rz.kind not in ("stay_inside", "stay_outside") or received == 0:
            continue
        rel = relate(track, rz.zone)
        wrong |= rel == (OUTSIDE if rz.kind == "stay_inside" else INSIDE)
        unsure |= rel == UNCERTAIN
    w = weights_s(track, interval_s, end_ms)
    outside = wrong & ~excused
    return Measures(
        outside_s=float(w[outside].sum()),
        uncertain_s=float(w[unsure & ~wrong & ~excused].sum()),
        outside_mask=outside,
        wrong_mask=wrong,
        uncertain_mask=unsure,
    )


def away_after(track: Track, outside: BoolArray, end_ms: int, within_ms: int) -> bool:
    """Whether any fix in (end, end + within] is certainly outside (permit not kept)."""
    sel = (track.t_ms > end_ms) & (track.t_ms <= end_ms + within_ms)
    return bool(np.any(outside[sel]))
