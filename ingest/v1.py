"""The native device contract v1 (ARCHITECTURE.md "Device contract (v1)") as msgspec types.

``loc``: one fix or an array of fixes (a watch uploads its offline buffer as one array).
``status``: ``{"ts", "batt"?, "charging"?, "strap": "closed"|"open"?, "signal"?, "fw"?}``.
``event``: ``{"ts", "kind", "lat"?, "lon"?, "acc"?, "data"?}`` with the kinds below.
Types bound every number to what its column can hold, so the database never refuses a value
the decoder accepted; coordinate ranges are validation's job (named reasons), not the decoder's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

#: Epoch milliseconds between 1970 and 9999 (datetime's range).
EpochMs = Annotated[int, Meta(ge=0, le=253_402_300_799_999)]
Real = Annotated[float, Meta(ge=-1e7, le=1e7)]
Source = Literal["gnss", "bds", "lbs", "wifi"]
EVENT_KINDS = ("strap_open", "case_open", "sos", "power_off", "low_battery")
EventKind = Literal["strap_open", "case_open", "sos", "power_off", "low_battery"]


class Fix(msgspec.Struct):
    """One fix: ``ts`` ms UTC, WGS84 degrees, ``acc`` metres (68%), ``spd`` m/s, ``hdg`` degrees."""

    ts: EpochMs
    lat: float
    lon: float
    acc: Annotated[float, Meta(ge=0, le=1e6)]
    src: Source
    seq: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    alt: Real | None = None
    spd: Annotated[float, Meta(ge=0, le=1e5)] | None = None
    hdg: Annotated[float, Meta(ge=0, le=360)] | None = None
    batt: Annotated[int, Meta(ge=0, le=100)] | None = None
    sat: Annotated[int, Meta(ge=0, le=255)] | None = None


class StatusReport(msgspec.Struct):
    """Battery %, charging, strap state, signal (as reported: bars or dBm), firmware."""

    ts: EpochMs
    batt: Annotated[int, Meta(ge=0, le=100)] | None = None
    charging: bool | None = None
    strap: Literal["closed", "open"] | None = None
    signal: Annotated[int, Meta(ge=-200, le=200)] | None = None
    fw: Annotated[str, Meta(max_length=64)] | None = None


class EventReport(msgspec.Struct):
    """A device event; position optional; ``data`` free-form details."""

    ts: EpochMs
    kind: EventKind
    lat: float | None = None
    lon: float | None = None
    acc: Annotated[float, Meta(ge=0, le=1e6)] | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


LOC_DECODER = msgspec.json.Decoder(Fix | list[Fix])
STATUS_DECODER = msgspec.json.Decoder(StatusReport)
EVENT_DECODER = msgspec.json.Decoder(EventReport)
ANY_DECODER = msgspec.json.Decoder()
