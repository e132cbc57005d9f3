"""The (fix, rule) pairs of a batch as columns, and their relation to the rules' zones.

A pair's verdict comes from its rule's kind and the relation of its fix disk to the zone
(inside, outside, uncertain; ``geofence.relation``); ``reason`` says why a pair was decided
otherwise than by its own position (a crossing, not applicable, suspended). The engine
(``geofence.engine``) fills the pairs, then turns verdicts into episodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from geofence import prefilter
from geofence import relation as rel
from geofence.batch import FixBatch
from geofence.geodesy import FloatArray
from geofence.grid import UNDECIDED
from geofence.hysteresis import Observation
from geofence.models import FixRef, Verdict, utc_from_ms
from geofence.rulebook import RuleBook, present
from geofence.tracks import ProtectedPositions

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_C, _V, _U, _NA = (int(v) for v in Verdict)
# Verdict by rule kind code (rows) and relation code (INSIDE, OUTSIDE, UNCERTAIN), flat: indexed
# by ``RuleBook.verdict_row`` plus the relation code.
_VERDICT = np.array([[_C, _V, _U], [_V, _C, _U], [_C, _V, _U], [_V, _C, _U]], dtype=np.int8).ravel()
REASONS = ("", "crossing", "not_valid", "schedule", "no_protected_position", "suspended")
CROSSING, NOT_VALID, SCHEDULE, NO_PROTECTED, SUSPENDED = 1, 2, 3, 4, 5
"""Codes of ``Pairs.reason`` (indices of ``REASONS``)."""


@dataclass(slots=True)
class Pairs:
    """Per-pair columns of one batch (row = fix index in the sorted batch)."""

    rows: IntArray
    slots: IntArray
    verdict: npt.NDArray[np.int8]
    reason: npt.NDArray[np.int8]
    crossing_prev: BoolArray
    permit: IntArray
    permit_end: IntArray


def relate_pairs(
    book: RuleBook,
    protected: ProtectedPositions,
    slot_protected: IntArray,
    b: FixBatch,
    radius: FloatArray,
    rows: IntArray,
    slots: IntArray,
) -> Pairs:
    """The pairs ``(rows[i], slots[i])`` of batch ``b`` (fix disk radii ``radius``, metres) with
    the verdict of each fix's relation to its rule's zone, or to the protected person's latest
    position (``slot_protected``: per slot, its index in ``protected``, -1 for none).

    Areas: one lookup in the stacked degree grids, the degree-box test for what they leave, then
    the exact test, one vectorised call per zone; circles: a degree-box test, then numpy.
    """
    relation = np.full(len(rows), rel.UNCERTAIN, dtype=np.int8)
    reason = np.zeros(len(rows), dtype=np.int8)
    area = book.area_index[slots]
    zoned = (area >= 0).nonzero()[0]
    if zoned.size:
        r, a = rows[zoned], area[zoned]
        codes = book.grids.classify(a, b.lon[r], b.lat[r], radius[r])
        relation[zoned] = codes
        open_ = codes == UNDECIDED
        zoned, r, a = zoned[open_], r[open_], a[open_]
    if zoned.size:
        s = slots[zoned]
        box = tuple(book.area_box[s].T)
        far = prefilter.far_from_boxes(b.lon[r], b.lat[r], radius[r], box, book.area_cos_floor[s])
        relation[zoned[far]] = rel.OUTSIDE
        zoned, r, a = zoned[~far], r[~far], a[~far]
        for k in present(a):
            one = a == k
            i, rk = zoned[one], r[one]
            relation[i] = book.areas[k].relate_exact(b.lon[rk], b.lat[rk], radius[rk])
    circ = book.is_circle[slots].nonzero()[0]
    if circ.size:
        s = slots[circ]
        centre = (book.circle_lon[s], book.circle_lat[s], book.circle_m[s])
        r = rows[circ]
        far = prefilter.circles_far(b.lon[r], b.lat[r], radius[r], (*centre, book.circle_lon_m[s]))
        relation[circ[far]] = rel.OUTSIDE
        near = ~far
        circ, r = circ[near], r[near]
        relation[circ] = rel.relate_circles(
            b.lon[r], b.lat[r], radius[r], *(c[near] for c in centre)
        )
    kaf = book.keep_away[slots].nonzero()[0]
    absent = kaf[:0]
    if kaf.size:
        r, s = rows[kaf], slots[kaf]
        p = slot_protected[s]
        pc = np.maximum(p, 0)
        prot = protected
        ok = (p >= 0) & (np.abs(b.t_ms[r] - prot.t[pc]) <= book.protected_age_ms[s])
        relation[kaf] = rel.relate_distance(
            b.lon[r],
            b.lat[r],
            radius[r],
            prot.lon[pc],
            prot.lat[pc],
            prot.radius[pc],
            book.min_distance_m[s],
        )
        absent = kaf[~ok]
        reason[absent] = NO_PROTECTED
    verdict = _VERDICT.take(book.verdict_row[slots] + relation)
    verdict[absent] = _NA
    none = np.full(len(rows), -1, dtype=np.int64)
    return Pairs(rows, slots, verdict, reason, np.zeros(len(rows), dtype=bool), none, none.copy())


#: Verdict codes (``Pairs.verdict``) to verdicts.
VERDICTS = tuple(Verdict)


def observe_pairs(
    b: FixBatch,
    prev_row: IntArray,
    pairs: Pairs,
    idx: IntArray,
    track_ref: Callable[[int], FixRef],
) -> list[Observation]:
    """Observations of the pairs ``idx``, built from plain lists (one conversion per column); a
    crossing's previous fix is a row of ``b`` (``prev_row >= 0``) or, ``-1 - prev_row``, the
    device track that ``track_ref`` gives."""
    r = pairs.rows[idx]
    t_ms = b.t_ms[r].tolist()
    permit = pairs.permit[idx].tolist()
    out = [
        Observation(
            t,
            VERDICTS[v],
            (FixRef(str(name), utc_from_ms(t), seq),),
            REASONS[reason],
            None if p < 0 else (p, end),
        )
        for t, v, name, seq, reason, p, end in zip(
            t_ms,
            pairs.verdict[idx].tolist(),
            b.device_id[r].tolist(),
            b.seq[r].tolist(),
            pairs.reason[idx].tolist(),
            permit,
            pairs.permit_end[idx].tolist(),
            strict=True,
        )
    ]
    for k in pairs.crossing_prev[idx].nonzero()[0].tolist():
        p = int(prev_row[r[k]])
        before = b.ref(p) if p >= 0 else track_ref(-1 - p)
        out[k] = replace(out[k], refs=(before, *out[k].refs))
    return out
