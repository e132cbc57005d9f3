"""Arrival order within a batch: per device grouping, in-order flags, late pairs (pure).

The engine judges each device's fixes in the order they arrived (``geofence.engine``): these are
its array steps, vectorised over the batch. Groups (a device's rows, a rule's pairs) are
contiguous after a stable sort, so a running maximum over all groups at once gives each row the
newest fix time before it in its group.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from geofence.batch import FixBatch
from geofence.crossings import Order
from geofence.tracks import NEVER_MS

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Fix times (epoch ms) are shifted into a group's own range of this width to run a cumulative
#: maximum over many groups at once (epoch ms stays below 2**43 until the year 2248).
_GROUP = 1 << 43


def exclusive_group_max(t_ms: IntArray, start: BoolArray) -> IntArray:
    """Per row, the largest ``t_ms`` of the rows before it in its group (contiguous groups,
    ``start`` marking each group's first row); ``NEVER_MS`` for a group's first row."""
    rank = np.cumsum(start) - 1
    shift = rank * _GROUP
    running = np.maximum.accumulate(shift + np.clip(t_ms, 0, _GROUP - 1))
    out = np.empty_like(t_ms)
    out[0] = NEVER_MS
    out[1:] = running[:-1] - shift[1:]
    out[start] = NEVER_MS
    return out


def by_device(
    batch: FixBatch, dev: IntArray, received: IntArray
) -> tuple[FixBatch, IntArray, IntArray, bool]:
    """The batch grouped by device (integer ids ``dev``), each device's rows in arrival order,
    a repeated ``(device, time, seq)`` dropped after its first arrival; and whether every device
    has one row only (then later stages skip their per-device grouping)."""
    if len(dev) < 2 or bool((dev[1:] > dev[:-1]).all()):
        return batch, dev, received, True
    order = np.argsort(dev, kind="stable")
    by_dev = dev[order]
    if bool((by_dev[1:] > by_dev[:-1]).all()):
        return batch.take(order), by_dev, received[order], True
    b, received = batch.take(order), received[order]
    n = len(b)
    keyed = np.lexsort((np.arange(n), b.seq, b.t_ms, by_dev))
    same = (
        (by_dev[keyed[1:]] == by_dev[keyed[:-1]])
        & (b.t_ms[keyed[1:]] == b.t_ms[keyed[:-1]])
        & (b.seq[keyed[1:]] == b.seq[keyed[:-1]])
    )
    if same.any():
        keep = np.ones(n, dtype=bool)
        keep[keyed[1:][same]] = False
        rows = keep.nonzero()[0]
        b, by_dev, received = b.take(rows), by_dev[rows], received[rows]
    return b, by_dev, received, False


def arrival_order(t_ms: IntArray, dev: IntArray, track_t: IntArray) -> Order:
    """In-order flags and previous in-order rows of a batch grouped by device in arrival order:
    a row is in order when its fix time is after the device's remembered fix and every earlier
    row of the device; its previous fix is the device's last earlier in-order row, or the
    remembered one (``-1 - device``)."""
    n = len(t_ms)
    start = np.ones(n, dtype=bool)
    start[1:] = dev[1:] != dev[:-1]
    before = np.maximum(exclusive_group_max(t_ms, start), track_t[dev])
    in_order = t_ms > before
    index = np.arange(n)
    last = np.maximum.accumulate(np.where(in_order, index, -1))
    earlier = np.empty_like(last)
    earlier[0] = -1
    earlier[1:] = last[:-1]
    first = np.maximum.accumulate(np.where(start, index, 0))
    prev_row = np.where(earlier >= first, earlier, -1 - dev)
    return Order(in_order, prev_row)


def late_pairs(t_ms: IntArray, slots: IntArray, wm: IntArray) -> BoolArray:
    """Per pair (in arrival order within each slot): its fix time is not after the slot's
    watermark nor after an earlier pair of the slot in this batch."""
    late = t_ms <= wm[slots]
    if len(slots) < 2:
        return late
    order = np.argsort(slots, kind="stable")
    by_slot = slots[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = by_slot[1:] != by_slot[:-1]
    if start.all():
        return late
    earlier = np.empty_like(t_ms)
    earlier[order] = exclusive_group_max(t_ms[order], start)
    return late | (t_ms <= earlier)
