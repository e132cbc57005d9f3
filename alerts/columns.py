"""The engine's inputs from stored pings: one ``Fix``, or the columns of a batch. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from geofence.batch import FixBatch
from geofence.models import Fix, epoch_ms
from ingest.models import Ping

#: Accuracy (m) assumed for a fix that reports none.
DEFAULT_ACC_M = 50.0

#: A fix's natural key.
FixKey = tuple[str, datetime, int]


def to_fix(p: Ping, case_id: int) -> Fix:
    return Fix(p.device_id, case_id, p.fix_time, p.seq, p.lon, p.lat, acc_m(p.acc), p.src,
               p.received_at, p.spd)  # fmt: skip


def fix_batch(pings: Sequence[Ping], case_ids: Sequence[int]) -> FixBatch:
    """The engine's columns for ``pings`` (``case_ids[i]``: the case of ``pings[i]``), as
    ``to_fix`` would give them, without a ``Fix`` per ping."""
    device_id, fix_time, seq, _, lon, lat, acc = list(zip(*pings, strict=False))[:7]
    return FixBatch(
        device_id=np.array(device_id, dtype=object),
        case_id=np.array(case_ids, dtype=np.int64),
        t_ms=np.fromiter(map(epoch_ms, fix_time), np.int64, len(pings)),
        seq=np.array(seq, dtype=np.int64),
        lon=np.array(lon, dtype=np.float64),
        lat=np.array(lat, dtype=np.float64),
        acc=np.fromiter(map(acc_m, acc), np.float64, len(pings)),
    )


def acc_m(acc: float | None) -> float:
    return DEFAULT_ACC_M if acc is None else float(acc)


def fix_key(p: Ping) -> FixKey:
    return (p.device_id, p.fix_time, p.seq)
