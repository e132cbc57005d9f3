"""Certain crossings of exclusion zones between a device's consecutive in-order fixes.

A fix outside a stay_outside zone may still betray a visit: when the straight segment from the
device's previous in-order fix certainly passes through the zone, the pair violates by
*crossing*. The segment is trusted only within ``MAX_CROSSING_GAP_S`` and when the speed it
implies (its length shrunk by both fix disks) is at most ``MAX_CROSSING_SPEED_MPS``; the previous
fix must itself be certainly outside, and the segment must meet the zone shrunk by the wider of
the two disks.

Work is cut by cheap, conservative filters applied in order (each only removes pairs that the
full test would reject): rule kind and verdict, order, gap, implied speed, then a degree box test
(``prefilter.segments_meet_boxes`` on ``RuleBook.cross_box``) before the exact tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from geofence import prefilter
from geofence import relation as rel
from geofence.batch import FixBatch
from geofence.geodesy import FloatArray, plane_offsets_m
from geofence.rulebook import RuleBook, present
from geofence.tracks import DeviceTracks

MAX_CROSSING_GAP_S = 900.0
"""Longest gap between two fixes whose straight segment is trusted for a crossing, seconds."""
MAX_CROSSING_SPEED_MPS = 70.0
"""Highest speed (m/s, ~250 km/h) a segment may imply and still be trusted for a crossing."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Order:
    """Per batch row: whether it is after its device's watermark, and its previous fix.

    ``prev_row`` is the batch row of the previous in-order fix of the same device, or
    ``-1 - device`` when that fix is the device's remembered one (``DeviceTracks``).
    """

    in_order: BoolArray
    prev_row: IntArray


def order_of_rows(b: FixBatch, dev: IntArray, tracks: DeviceTracks, *, distinct: bool) -> Order:
    """In-order flags and previous rows of a batch sorted by device, then fix time;
    ``distinct`` says that every device has one row only (the previous fix is the track's)."""
    in_order = b.t_ms > tracks.t[dev]
    if distinct:
        return Order(in_order, -1 - dev)
    same = np.zeros(len(b), dtype=bool)
    same[1:] = (dev[1:] == dev[:-1]) & in_order[:-1]
    return Order(in_order, np.where(same, np.arange(-1, len(b) - 1), -1 - dev))


class _Previous:
    """Where each candidate's previous fix is: a row of the batch (``prev_row >= 0``) or the
    device's remembered fix in ``DeviceTracks`` (``-1 - device``), as in ``Order.prev_row``."""

    def __init__(self, prev_row: IntArray, any_own: bool | None = None) -> None:
        self.prev_row = prev_row
        self.any_own = bool((prev_row >= 0).any()) if any_own is None else any_own
        self.track = np.maximum(-1 - prev_row, 0) if self.any_own else -1 - prev_row

    def take(self, index: IntArray | BoolArray) -> _Previous:
        """The candidates at ``index`` (indices or a mask)."""
        return _Previous(self.prev_row[index], None if self.any_own else False)

    def of(self, in_batch: npt.NDArray[Any], in_tracks: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """A column of the previous fixes, from the batch's or the tracks' column; one gather
        when every previous fix is remembered (batches of one fix per device)."""
        if not self.any_own:
            return in_tracks[self.track]
        own = self.prev_row >= 0
        return np.where(own, in_batch[np.maximum(self.prev_row, 0)], in_tracks[self.track])


def crossings(
    b: FixBatch,
    radius: FloatArray,
    tracks: DeviceTracks,
    book: RuleBook,
    rows: IntArray,
    slots: IntArray,
    candidate: BoolArray,
    seq: Order,
) -> IntArray:
    """Indices of the pairs ``(rows, slots)`` that certainly crossed their exclusion zone.

    ``candidate`` marks the pairs whose own fix is compliant; ``radius`` is each row's disk
    radius in metres.
    """
    cand: IntArray = (candidate & book.stay_outside[slots]).nonzero()[0]
    r = rows[cand]
    keep = seq.in_order[r]
    cand, r = cand[keep], r[keep]
    prev = _Previous(seq.prev_row[r])
    # No previous fix (NEVER_MS) is never recent enough; comparing this way cannot overflow.
    recent = prev.of(b.t_ms, tracks.t) >= b.t_ms[r] - MAX_CROSSING_GAP_S * 1000.0
    cand, r, prev = cand[recent], r[recent], prev.take(recent)
    s = slots[cand]
    p_lon, p_lat = prev.of(b.lon, tracks.lon), prev.of(b.lat, tracks.lat)
    lon, lat = b.lon[r], b.lat[r]
    # NaN boxes (keep-away rules, which are never stay_outside) meet nothing. A circle's box
    # holds for ends near its latitude only (NaN for areas, so never "far" for them).
    c_lat = book.circle_lat[s]
    far = (np.abs(p_lat - c_lat) > prefilter.CIRCLE_BOX_LAT_DEG) | (
        np.abs(lat - c_lat) > prefilter.CIRCLE_BOX_LAT_DEG
    )
    meet = prefilter.segments_meet_boxes(p_lon, p_lat, lon, lat, tuple(book.cross_box[s].T))
    near: IntArray = (meet | far).nonzero()[0]
    if not near.size:
        return near
    cand, r, s, prev = cand[near], r[near], s[near], prev.take(near)
    p_lon, p_lat, lon, lat = p_lon[near], p_lat[near], lon[near], lat[near]
    p_t, p_r = prev.of(b.t_ms, tracks.t), prev.of(radius, tracks.radius)
    r_now = radius[r]
    dt_s = (b.t_ms[r] - p_t) / 1000.0
    dx, dy = plane_offsets_m(lon, lat, p_lon, p_lat)
    plausible = np.hypot(dx, dy) - r_now - p_r <= MAX_CROSSING_SPEED_MPS * dt_s
    crossed = np.zeros(cand.size, dtype=bool)
    widest = np.maximum(r_now, p_r)
    circle_m = book.circle_m[s]
    c = (plausible & ~np.isnan(circle_m)).nonzero()[0]
    if c.size:
        centre = (book.circle_lon[s[c]], book.circle_lat[s[c]], circle_m[c])
        before = rel.relate_circles(p_lon[c], p_lat[c], p_r[c], *centre)
        crossed[c] = (before == rel.OUTSIDE) & rel.circle_crossings(
            p_lon[c], p_lat[c], lon[c], lat[c], widest[c], *centre
        )
    area = np.where(plausible, book.area_index[s], -1)
    for k in present(area):
        c = (area == k).nonzero()[0]
        zone = book.areas[k]
        # both ends in one projection call (each call costs ~20 us however few the points)
        x, y = zone.project(np.concatenate((p_lon[c], lon[c])), np.concatenate((p_lat[c], lat[c])))
        x0, y0, x1, y1 = x[: c.size], y[: c.size], x[c.size :], y[c.size :]
        before = zone.relate(p_lon[c], p_lat[c], p_r[c])
        crossed[c] = (before == rel.OUTSIDE) & zone.crosses_xy(x0, y0, x1, y1, widest[c])
    return cand[crossed]
