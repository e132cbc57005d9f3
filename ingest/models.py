"""Ingest's types: what a decoded message becomes on its way to the database.

``Ping`` is a NamedTuple in the column order of ``store.pings.PING_COLUMNS`` so a batch goes to
COPY without copying. Times are timezone-aware UTC datetimes; distances metres, speeds m/s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class Ping(NamedTuple):
    """One position fix (WGS84): the device's fix time and our receive time."""

    device_id: str
    fix_time: datetime
    seq: int
    received_at: datetime
    lon: float
    lat: float
    acc: float | None
    src: str
    alt: float | None = None
    spd: float | None = None
    hdg: float | None = None
    batt: int | None = None
    sat: int | None = None


class Status(NamedTuple):
    """A device status report (``.../status``) or a status change implied by an event."""

    device_id: str
    at: datetime
    received_at: datetime
    battery_pct: int | None = None
    charging: bool | None = None
    strap_closed: bool | None = None
    signal: int | None = None
    firmware: str | None = None
    #: Implied by an event (strap_open): updates device_status, not written to the history.
    derived: bool = False


class Event(NamedTuple):
    """A device event (``.../event``, OwnTracks transition / lwt / known-but-ignored types)."""

    device_id: str
    at: datetime
    kind: str
    received_at: datetime
    source: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reject:
    """Input that is not stored as data: kept as a dead letter with every reason found.

    ``index`` is the element of an array payload (None for the whole message); ``detail`` holds
    what a person needs to understand the reasons (decoder message, values checked).
    """

    topic: str
    payload: bytes
    received_at: datetime
    reasons: tuple[str, ...]
    device_id: str | None = None
    index: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


Record = Ping | Status | Event


@dataclass(slots=True)
class Decoded:
    """What one MQTT message decoded to: records (possibly several) and rejects (possibly some).

    A partly bad array yields both; ``ignored`` marks a known message type that carries nothing
    we use (recorded as an event, counted, not dead-lettered).
    """

    records: list[Record] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    ignored: bool = False
    #: For an array payload, each record's index in the array (identifies a refused element).
    positions: list[int] | None = None
