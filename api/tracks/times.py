"""ISO 8601 text of many instants in a time zone at once: what ``datetime.isoformat`` prints,
without a ``datetime`` per fix (a month of fixes is tens of thousands of them).

A zone's UTC offset is piecewise constant. It is looked up once at the start and once at the end
of every distinct UTC hour the instants fall in; an hour whose two offsets agree takes that offset
for all its instants, and only the instants of an hour holding a transition are looked up one by
one. This is exact for every tzdata zone, none of which changes offset twice within an hour, and
costs two lookups an hour of data, or one an instant when that is fewer (Asia/Shanghai, with no
transition since 1991, and a zone with DST take the same path).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Literal

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.uint32]

HOUR_US = 3_600_000_000
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _offset_us(t_us: int, tz: tzinfo) -> int:
    """The UTC offset of ``tz`` at Unix microsecond ``t_us``, in microseconds."""
    local = (_UNIX_EPOCH + timedelta(microseconds=t_us)).astimezone(tz)
    offset = local.utcoffset()
    return 0 if offset is None else offset // _US


def utc_offsets_us(t_us: IntArray, tz: tzinfo) -> IntArray:
    """The UTC offset of ``tz`` at each instant (Unix microseconds), in microseconds."""
    fixed = tz.utcoffset(None)  # a fixed-offset zone (UTC, datetime.timezone) answers without
    if fixed is not None:  # an instant; a zone with rules (ZoneInfo) answers None
        return np.full(t_us.size, fixed // _US, dtype=np.int64)
    hours, where = np.unique(t_us // HOUR_US, return_inverse=True)
    if 2 * hours.size >= t_us.size:  # sparse instants: one lookup each is fewer
        return np.array([_offset_us(t, tz) for t in t_us.tolist()], dtype=np.int64)
    first = np.array([_offset_us(h * HOUR_US, tz) for h in hours.tolist()], dtype=np.int64)
    last = np.array([_offset_us((h + 1) * HOUR_US - 1, tz) for h in hours.tolist()], np.int64)
    offsets = first[where]
    for i in np.flatnonzero((first != last)[where]).tolist():
        offsets[i] = _offset_us(int(t_us[i]), tz)
    return offsets


def _suffix(offset_us: int) -> str:
    """An offset as ``isoformat`` prints it ("+08:00", "-03:30", "+00:00")."""
    fixed = timezone(timedelta(microseconds=offset_us))
    return datetime(2000, 1, 1, tzinfo=fixed).isoformat()[len("2000-01-01T00:00:00") :]


class _Codes:
    """Text of ``n`` values built column by column: one row of code points per character
    position (contiguous numpy writes), turned into ``n`` strings at the end."""

    def __init__(self, n: int, width: int) -> None:
        self.codes = np.zeros((width, n), dtype=np.uint32)
        self.at = 0

    def digits(self, values: IntArray, width: int) -> None:
        """Zero-padded decimal ``values``."""
        for k in range(width):
            self.codes[self.at + k] = values // 10 ** (width - 1 - k) % 10 + ord("0")
        self.at += width

    def char(self, c: str) -> None:
        self.codes[self.at] = ord(c)
        self.at += 1

    def strings(self) -> list[str]:
        """The values (trailing NULs, the padding, are dropped)."""
        width = self.codes.shape[0]
        return list(np.ascontiguousarray(self.codes.T).view(f"<U{width}").ravel().tolist())


def _suffix_codes(offsets: IntArray) -> CodeArray:
    """(width, n) code points of each offset as ``isoformat`` prints it, NUL-padded."""
    distinct, which = np.unique(offsets, return_inverse=True)
    texts = [_suffix(o) for o in distinct.tolist()]
    table = np.zeros((max(len(x) for x in texts), distinct.size), dtype=np.uint32)
    for j, x in enumerate(texts):
        table[: len(x), j] = [ord(c) for c in x]
    return table[:, which]


def isoformat(
    t_us: IntArray, tz: tzinfo, *, timespec: Literal["auto", "milliseconds"] = "auto"
) -> list[str]:
    """Each instant (Unix microseconds) in ``tz`` as ``datetime.isoformat(timespec=...)`` would
    print it: "auto" shows microseconds only when there are some, "milliseconds" truncates.

    Built as arrays of code points with integer arithmetic, several times faster than a
    ``datetime`` per value (years 1-9999, like ``datetime``).
    """
    t_us = np.asarray(t_us, dtype=np.int64)
    n = t_us.size
    if n == 0:
        return []
    offsets = utc_offsets_us(t_us, tz)
    local = t_us + offsets
    day = local.astype("datetime64[us]").astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    usec = local - day.astype("datetime64[us]").astype(np.int64)
    second = usec // 1_000_000
    fraction = usec % 1_000_000
    suffix = _suffix_codes(offsets)
    digits = 3 if timespec == "milliseconds" else 6
    out = _Codes(n, 20 + digits + suffix.shape[0])
    out.digits(month.astype("datetime64[Y]").astype(np.int64) + 1970, 4)
    out.char("-")
    out.digits(month.astype(np.int64) % 12 + 1, 2)
    out.char("-")
    out.digits((day - month).astype(np.int64) + 1, 2)
    out.char("T")
    out.digits(second // 3600, 2)
    out.char(":")
    out.digits(second // 60 % 60, 2)
    out.char(":")
    out.digits(second % 60, 2)
    out.char(".")
    out.digits(fraction // 10 ** (6 - digits), digits)
    out.codes[out.at :] = suffix
    if timespec == "auto":
        whole = np.flatnonzero(fraction == 0)
        # "HH:MM:SS" then the offset, no fraction.
        out.codes[19:, whole] = 0
        out.codes[19 : 19 + suffix.shape[0], whole] = suffix[:, whole]
    return out.strings()
