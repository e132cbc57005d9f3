"""Vectorised track helpers against their one-value-at-a-time references: ISO 8601 times in a
zone (with and without DST, odd offsets, whole and fractional seconds), packed columns, newline
joined text and evidence marking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from api.tracks.analysis import mark_evidence, packed, unpack_text
from api.tracks.times import isoformat

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: 2024-03-31 01:00 UTC, the EU spring transition.
EU_SPRING_US = 1_711_846_800_000_000


def _reference(t_us: int, tz: tzinfo, timespec: str) -> str:
    return (EPOCH + timedelta(microseconds=t_us)).astimezone(tz).isoformat(timespec=timespec)


@pytest.mark.parametrize(
    "zone",
    ["Asia/Shanghai", "Europe/London", "America/New_York", "Australia/Lord_Howe",
     "Asia/Kathmandu", "America/St_Johns", "UTC"],
)  # fmt: skip
@pytest.mark.parametrize("timespec", ["auto", "milliseconds"])
def test_isoformat_matches_datetime(zone: str, timespec: Literal["auto", "milliseconds"]) -> None:
    tz = ZoneInfo(zone)
    rng = np.random.default_rng(3)
    spread = rng.integers(-2_000_000_000_000_000, 2_500_000_000_000_000, 3000)
    spread[::3] -= spread[::3] % 1_000_000  # whole seconds print without a fraction
    dense = np.arange(
        EU_SPRING_US - 3 * 3_600_000_000, EU_SPRING_US + 3 * 3_600_000_000, 60_000_000
    )
    t_us = np.sort(np.concatenate([spread, dense, dense + 500]))
    got = isoformat(t_us, tz, timespec=timespec)
    assert got == [_reference(t, tz, timespec) for t in t_us.tolist()]


@pytest.mark.parametrize("tz", [UTC, timezone(timedelta(hours=5, minutes=45)), timezone.min])
def test_isoformat_in_fixed_offset_zones(tz: timezone) -> None:
    t_us = np.arange(-3, 3, dtype=np.int64) * 86_400_123_457 + 1_790_812_800_000_000
    assert isoformat(t_us, tz) == [_reference(t, tz, "auto") for t in t_us.tolist()]


def test_isoformat_sparse_and_empty() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    t_us = np.array([-2_500_000_000_000_000, -1, 1_790_812_800_123_456], dtype=np.int64)
    assert isoformat(t_us, tz) == [
        "1890-10-12T03:39:03+08:05:43", "1970-01-01T07:59:59.999999+08:00",
        "2026-10-01T08:00:00.123456+08:00",
    ]  # fmt: skip
    assert isoformat(np.array([], dtype=np.int64), tz) == []


def test_packed_columns_and_text() -> None:
    values = np.array([118.5, -0.1], dtype=">f8").tobytes()
    assert packed(values, ">f8").tolist() == [118.5, -0.1]
    assert packed(np.array([10.3], dtype=">f4").tobytes(), ">f4")[0] == float(np.float32(10.3))
    assert packed(None, ">i8").size == 0
    assert unpack_text("a\nb\n", 3) == ["a", "b", ""]
    assert unpack_text("a\nb\nc", 2) is None  # a value held a newline
    assert unpack_text(None, 0) == []


def test_mark_evidence_matches_device_time_and_seq() -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    t_us = np.array([0, 60, 60, 120], dtype=np.int64) * 1_000_000 + 1_793_491_200_000_000
    seq = np.array([0, 1, 1, 2], dtype=np.int64)
    devices = ["W-1", "W-1", "W-2", "W-1"]
    keys = [("W-2", t0 + timedelta(minutes=1), 1), ("W-1", t0 + timedelta(minutes=2), 9)]
    assert mark_evidence(t_us, seq, devices, keys).tolist() == [False, False, True, False]
