"""The device contract v1 as the simulated watches send it (see ARCHITECTURE.md, "Device contract").

Topics ``bw/v1/dev/{device_id}/loc`` (one fix object, or an array of fixes for a buffer) and
``bw/v1/dev/{device_id}/status``. Fix fields: ``ts`` fix time in UTC epoch milliseconds, ``lat`` and
``lon`` WGS84 degrees, ``acc`` 68% radius in metres, ``src`` gnss|bds|lbs|wifi, ``seq`` per-device
counter; optional ``alt`` metres, ``spd`` m/s, ``hdg`` degrees clockwise from north, ``batt`` %,
``sat`` satellites used. Optional fields are left out when unknown (never ``null``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

TOPIC_PREFIX = "bw/v1/dev"
Source = Literal["gnss", "bds", "lbs", "wifi"]


class Fix(msgspec.Struct, frozen=True, omit_defaults=True):
    """One position fix (v1)."""

    ts: int
    lat: float
    lon: float
    acc: float
    src: Source
    seq: int
    alt: float | None = None
    spd: float | None = None
    hdg: float | None = None
    batt: int | None = None
    sat: int | None = None


class Status(msgspec.Struct, frozen=True, omit_defaults=True):
    """A status report (v1): battery %, charging, strap closed|open, signal dBm, firmware."""

    ts: int
    batt: int
    charging: bool
    strap: Literal["closed", "open"]
    signal: int
    fw: str


_encoder = msgspec.json.Encoder()


def topic(device_id: str, kind: Literal["loc", "status", "event", "cmd"]) -> str:
    """The v1 topic of ``device_id`` for ``kind``."""
    return f"{TOPIC_PREFIX}/{device_id}/{kind}"


def encode_fix(fix: Fix) -> bytes:
    """One fix as a JSON object."""
    return _encoder.encode(fix)


def encode_fixes(fixes: Sequence[Fix]) -> bytes:
    """Several fixes (an offline buffer) as one JSON array, oldest first."""
    return _encoder.encode(list(fixes))


def encode_status(status: Status) -> bytes:
    """A status report as a JSON object."""
    return _encoder.encode(status)


def decode_loc(payload: bytes) -> list[Fix]:
    """Parse a ``loc`` payload (object or array) strictly; raises ``msgspec.ValidationError``."""
    value = msgspec.json.decode(payload, type=Fix | list[Fix])
    return value if isinstance(value, list) else [value]
