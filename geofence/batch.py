"""A batch of fixes in columns (numpy arrays), the engine's input format.

Ingest can fill the columns directly from decoded pings; ``FixBatch.from_fixes`` builds one from
``Fix`` values. Times are epoch milliseconds (UTC), coordinates WGS84 degrees, ``acc`` metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geofence.models import Fix, FixRef, epoch_ms, utc_from_ms

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class FixBatch:
    """Columns of fixes: row i of every array is one fix."""

    device_id: ObjArray
    case_id: IntArray
    t_ms: IntArray
    seq: IntArray
    lon: FloatArray
    lat: FloatArray
    acc: FloatArray

    def __post_init__(self) -> None:
        n = len(self.device_id)
        columns = (self.case_id, self.t_ms, self.seq, self.lon, self.lat, self.acc)
        if any(len(c) != n for c in columns):
            raise ValueError("FixBatch columns must have equal lengths")

    def __len__(self) -> int:
        return len(self.device_id)

    @classmethod
    def from_fixes(cls, fixes: Sequence[Fix]) -> FixBatch:
        """Columns from ``Fix`` values (their order is kept; the engine sorts by fix time)."""
        return cls(
            device_id=np.array([f.device_id for f in fixes], dtype=object),
            case_id=np.array([f.case_id for f in fixes], dtype=np.int64),
            t_ms=np.array([epoch_ms(f.fix_time) for f in fixes], dtype=np.int64),
            seq=np.array([f.seq for f in fixes], dtype=np.int64),
            lon=np.array([f.lon for f in fixes], dtype=np.float64),
            lat=np.array([f.lat for f in fixes], dtype=np.float64),
            acc=np.array([f.acc for f in fixes], dtype=np.float64),
        )

    def take(self, index: IntArray) -> FixBatch:
        """The rows at ``index``, in that order."""
        return FixBatch(
            self.device_id[index],
            self.case_id[index],
            self.t_ms[index],
            self.seq[index],
            self.lon[index],
            self.lat[index],
            self.acc[index],
        )

    def ref(self, i: int) -> FixRef:
        """The natural key of row ``i``."""
        return FixRef(str(self.device_id[i]), utc_from_ms(int(self.t_ms[i])), int(self.seq[i]))


def sort_by_device(batch: FixBatch, dev: IntArray) -> tuple[FixBatch, IntArray, bool]:
    """The batch ordered by ``dev`` (integer device ids), then fix time, then seq, and whether
    every device has one row only (then later stages skip their per-device grouping).

    Batches usually hold one fix per device: then ordering by device alone is the same order,
    and far cheaper than a three-key ``lexsort`` (which also runs when rows are already sorted).
    """
    if len(dev) < 2 or bool((dev[1:] > dev[:-1]).all()):
        return batch, dev, True
    order = np.argsort(dev, kind="stable")
    by_dev = dev[order]
    if bool((by_dev[1:] > by_dev[:-1]).all()):
        return batch.take(order), by_dev, True
    order = np.lexsort((batch.seq, batch.t_ms, dev))
    return batch.take(order), dev[order], False
