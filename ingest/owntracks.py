"""OwnTracks (https://owntracks.org/booklet/tech/json/) payloads, so a phone can act as a watch.

Topic ``owntracks/{user}/{device}[/{subtopic}]``; the MQTT username (= ``{user}``) is the device
id, which the broker's per-device ACL enforces. ``location`` is a fix (``tst`` epoch seconds,
``vel`` km/h, ``cog`` degrees); ``transition`` (region enter/leave) and ``lwt`` (the app lost its
connection) are recorded as device events; the other known types are recorded as ignored.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

EpochS = Annotated[int, Meta(ge=0, le=253_402_300_799)]

#: Types the app sends that carry nothing for supervision; recorded, counted, not dead-lettered.
IGNORED_TYPES = frozenset(
    {
        "beacon", "card", "cmd", "configuration", "encrypted", "request", "status", "steps",
        "waypoint", "waypoints", "dump", "image",
    }
)  # fmt: skip


class Location(msgspec.Struct, tag_field="_type", tag="location"):
    """A fix; ``vel`` km/h and ``cog`` degrees as OwnTracks sends them."""

    lat: float
    lon: float
    tst: EpochS
    acc: Annotated[float, Meta(ge=0, le=1e6)] | None = None
    alt: Annotated[float, Meta(ge=-1e7, le=1e7)] | None = None
    vel: Annotated[float, Meta(ge=0, le=1e5)] | None = None
    cog: Annotated[float, Meta(ge=0, le=360)] | None = None
    batt: Annotated[int, Meta(ge=0, le=100)] | None = None
    bs: Annotated[int, Meta(ge=0, le=3)] | None = None


class Transition(msgspec.Struct, tag_field="_type", tag="transition"):
    """Entering or leaving a region defined in the app."""

    tst: EpochS
    event: Annotated[str, Meta(max_length=32)]
    wtst: EpochS | None = None
    desc: Annotated[str, Meta(max_length=256)] | None = None
    lat: float | None = None
    lon: float | None = None
    acc: Annotated[float, Meta(ge=0, le=1e6)] | None = None


class Lwt(msgspec.Struct, tag_field="_type", tag="lwt"):
    """Last will: the broker saw the app's connection drop (``tst`` = when it connected)."""

    tst: EpochS


DECODER = msgspec.json.Decoder(Location | Transition | Lwt)
