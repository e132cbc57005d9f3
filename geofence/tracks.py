"""Per-device memory the engine keeps between batches: last in-order fix, latest protected fix.

``DeviceTracks`` holds each watch's last fix evaluated in order, so that the segment from it to the
next fix can be checked for a crossing. ``ProtectedPositions`` holds the latest fix of each
protected person's own device (victim, witness) for keep_away_from rules. Both are columnar
(numpy arrays indexed by a per-device integer) so a batch is served with array gathers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from geofence.models import Fix, FixRef, epoch_ms, utc_from_ms
from geofence.relation import disk_radius

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
NEVER_MS = np.iinfo(np.int64).min


class _Columns:
    """Growable columns of (t_ms, seq, lon, lat, radius) indexed by a device's integer id."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []
        self.t = np.full(16, NEVER_MS, dtype=np.int64)
        self.seq = np.zeros(16, dtype=np.int64)
        self.lon = np.zeros(16)
        self.lat = np.zeros(16)
        self.radius = np.zeros(16)

    def id_of(self, device_id: str) -> int:
        """The integer id of ``device_id``, allocated on first sight."""
        i = self.index.get(device_id)
        if i is None:
            i = len(self.names)
            self.index[device_id] = i
            self.names.append(device_id)
            if i >= len(self.t):
                grow = len(self.t)
                self.t = np.append(self.t, np.full(grow, NEVER_MS, dtype=np.int64))
                self.seq = np.append(self.seq, np.zeros(grow, dtype=np.int64))
                self.lon = np.append(self.lon, np.zeros(grow))
                self.lat = np.append(self.lat, np.zeros(grow))
                self.radius = np.append(self.radius, np.zeros(grow))
        return i


class DeviceTracks(_Columns):
    """Last fix evaluated in order, per watch."""

    def ids(self, device_ids: npt.NDArray[np.object_]) -> IntArray:
        """Integer ids of a batch's device ids."""
        names = device_ids.tolist()
        try:
            return np.fromiter(map(self.index.__getitem__, names), np.int64, len(names))
        except KeyError:
            return np.fromiter(map(self.id_of, names), np.int64, len(names))

    def advance(
        self,
        dev: IntArray,
        t_ms: IntArray,
        seq: IntArray,
        lon: FloatArray,
        lat: FloatArray,
        radius: FloatArray,
        in_order: npt.NDArray[np.bool_],
        *,
        distinct: bool = False,
    ) -> None:
        """Remember each device's last in-order row (rows grouped by device, each device's in
        arrival order; ``distinct`` when every device has one row only, which spares finding
        the last). In-order rows of a device rise in fix time, so its last is its newest; the
        device's last row may be a late one, which must not hide it."""
        if distinct and bool(in_order.all()):
            self.t[dev], self.seq[dev] = t_ms, seq
            self.lon[dev], self.lat[dev], self.radius[dev] = lon, lat, radius
            return
        rows = in_order.nonzero()[0]
        if not distinct:
            kept = dev[rows]
            last = np.ones(len(rows), dtype=bool)
            last[:-1] = kept[1:] != kept[:-1]
            rows = rows[last]
        d = dev[rows]
        self.t[d], self.seq[d] = t_ms[rows], seq[rows]
        self.lon[d], self.lat[d], self.radius[d] = lon[rows], lat[rows], radius[rows]

    def ref(self, i: int) -> FixRef:
        """Natural key of device ``i``'s remembered fix."""
        return FixRef(self.names[i], utc_from_ms(int(self.t[i])), int(self.seq[i]))

    def snapshot(
        self, devices: Iterable[str] | None = None
    ) -> dict[str, tuple[int, int, float, float, float]]:
        """JSON-compatible ``{device_id: (t_ms, seq, lon, lat, radius_m)}`` to persist, for
        ``devices`` (every device when None); devices without a remembered fix are left out."""
        index = self.index
        chosen = (
            enumerate(self.names)
            if devices is None
            else ((index[d], d) for d in devices if d in index)
        )
        return {
            name: (
                int(self.t[i]),
                int(self.seq[i]),
                float(self.lon[i]),
                float(self.lat[i]),
                float(self.radius[i]),
            )
            for i, name in chosen
            if self.t[i] != NEVER_MS
        }

    def restore(self, snapshot: dict[str, tuple[int, int, float, float, float]]) -> None:
        """Inverse of ``snapshot``."""
        for name, (t, seq, lon, lat, radius) in snapshot.items():
            i = self.id_of(name)
            self.t[i], self.seq[i], self.lon[i], self.lat[i], self.radius[i] = (
                t,
                seq,
                lon,
                lat,
                radius,
            )


class ProtectedPositions(_Columns):
    """Latest fix of each protected person's device."""

    def observe(self, fixes: Iterable[Fix]) -> bool:
        """Keep the newest fix per device; True if a device was seen for the first time."""
        before = len(self.names)
        for fix in fixes:
            i = self.id_of(fix.device_id)
            t = epoch_ms(fix.fix_time)
            if t > self.t[i]:
                self.t[i], self.seq[i] = t, fix.seq
                self.lon[i], self.lat[i] = fix.lon, fix.lat
                self.radius[i] = float(disk_radius(np.asarray(fix.acc)))
        return len(self.names) != before
