"""Types of the geofence domain: fixes, zones, rules, schedules and permits.

Everything here is an immutable value. Times are tz-aware UTC ``datetime``s at the edges and integer
epoch milliseconds inside the vectorised engine (the device contract's ``ts`` unit); coordinates are
WGS84 longitude/latitude in degrees; distances and accuracies are metres.

The per-(case, rule) evaluation state lives in ``geofence.state`` and the events the engine emits in
``geofence.events``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import IntEnum, StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shapely.geometry.base import BaseGeometry

from geofence.datum import Datum
from geofence.errors import RuleError

DEFAULT_TZ = "Asia/Shanghai"
"""Time zone of a case's schedules unless the case says otherwise."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Integer milliseconds since the Unix epoch of a tz-aware ``moment`` (naive is refused)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: geofence times must be tz-aware")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


#: Below this many epoch milliseconds (year 2109) ``ms / 1000`` is within half a microsecond of
#: the exact value, so rounding to microseconds gives the exact millisecond.
_FAST_MS_LIMIT = 2**42


def utc_from_ms(ms: int) -> datetime:
    """The UTC ``datetime`` of ``ms`` milliseconds since the Unix epoch, exact to the millisecond.

    Every ingested fix and every engine observation passes through here: the float path is
    ~2.5x faster than timedelta arithmetic and exact within ``_FAST_MS_LIMIT``; other values
    (fixes refused later as future or stale) take the exact path."""
    ms = int(ms)
    if 0 <= ms < _FAST_MS_LIMIT:
        return datetime.fromtimestamp(ms / 1000, UTC)
    return _EPOCH + timedelta(milliseconds=ms)


class Relation(StrEnum):
    """Where a fix disk lies with respect to a zone."""

    INSIDE = "inside"
    OUTSIDE = "outside"
    UNCERTAIN = "uncertain"


class Verdict(IntEnum):
    """What one fix says about one rule; the integer codes are used in the engine's arrays."""

    COMPLIANT = 0
    VIOLATING = 1
    UNCERTAIN = 2
    NOT_APPLICABLE = 3


class ZoneKind(StrEnum):
    """Shape of a zone: (multi)polygon, circle (centre + radius) or corridor (buffered line)."""

    POLYGON = "polygon"
    CIRCLE = "circle"
    CORRIDOR = "corridor"


class RuleKind(StrEnum):
    """What a rule demands. The first four are positional (evaluated per fix by the engine)."""

    STAY_INSIDE = "stay_inside"
    STAY_OUTSIDE = "stay_outside"
    BE_INSIDE_DURING = "be_inside_during"
    KEEP_AWAY_FROM = "keep_away_from"
    NO_SIGNAL = "no_signal"
    STRAP_OPEN = "strap_open"
    BATTERY_CRITICAL = "battery_critical"
    POWER_OFF = "power_off"
    IMPOSSIBLE_SPEED = "impossible_speed"

    @property
    def positional(self) -> bool:
        """True for the rules the engine evaluates against each fix's position."""
        return self in _POSITIONAL

    @property
    def needs_zone(self) -> bool:
        """True for the rules that name a zone."""
        return self in _ZONED


_ZONED = frozenset({RuleKind.STAY_INSIDE, RuleKind.STAY_OUTSIDE, RuleKind.BE_INSIDE_DURING})
_POSITIONAL = _ZONED | {RuleKind.KEEP_AWAY_FROM}


class Severity(StrEnum):
    """A hint for the alerts package; it decides the final severity."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Fix:
    """One position report of a watch, already validated by ingest.

    ``acc`` is the 68% horizontal accuracy radius in metres as the device reports it; ``spd`` the
    device's own speed estimate in m/s when it sends one (not used for geofencing).
    """

    device_id: str
    case_id: int
    fix_time: datetime
    seq: int
    lon: float
    lat: float
    acc: float
    src: str
    received_at: datetime
    spd: float | None = None


@dataclass(frozen=True, slots=True, order=True)
class FixRef:
    """The natural key of a stored fix, ``(device_id, fix_time, seq)``: the evidence in events."""

    device_id: str
    fix_time: datetime
    seq: int

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible form: ``{"device_id": str, "fix_time": ISO-8601 UTC, "seq": int}``."""
        return {"device_id": self.device_id, "fix_time": self.fix_time.isoformat(), "seq": self.seq}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FixRef:
        """Inverse of ``to_json``."""
        return cls(
            str(data["device_id"]), datetime.fromisoformat(data["fix_time"]), int(data["seq"])
        )


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone in WGS84, as produced by ``geofence.zones.parse_zone`` (which validates it).

    ``geometry`` is a Polygon/MultiPolygon for POLYGON, the centre Point for CIRCLE and the centre
    LineString for CORRIDOR. Zones that cross the antimeridian are stored *unwrapped*: longitudes
    continue past 180 so that every ring is continuous. ``datum`` is the datum it was drawn in.
    """

    zone_id: int
    kind: ZoneKind
    geometry: BaseGeometry
    datum: Datum = Datum.WGS84
    radius_m: float | None = None
    width_m: float | None = None
    name: str = ""


class Weekday(IntEnum):
    """ISO weekday numbering minus one, as ``datetime.weekday()`` returns it."""

    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly window of local wall-clock time starting on ``day`` at ``start``.

    When ``end <= start`` the window crosses midnight and ends on the following day (Sunday's
    crosses into Monday). A window with ``start == end`` lasts 24 hours. Resolution is one minute.
    """

    day: Weekday
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    """When a rule applies: weekly windows in the case's IANA time zone (wall-clock, DST-safe)."""

    windows: tuple[Window, ...]
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        if not self.windows:
            raise RuleError("a schedule needs at least one window")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RuleError(f"unknown time zone {self.tz!r}") from exc


@dataclass(frozen=True, slots=True)
class Grace:
    """Hysteresis of one rule.

    An episode opens when a run of consecutive certain-violating observations has at least
    ``open_after_fixes`` fixes AND spans at least ``open_after_s`` seconds (first to last fix time);
    it clears when a run of certain-compliant observations meets ``clear_after_fixes`` AND
    ``clear_after_s`` likewise. Set the seconds to 0 for a pure count, the count to 1 for a pure
    duration. Uncertain fixes neither extend nor break a run. The same open thresholds apply to a
    run of uncertain fixes before a "location uncertain" condition is raised.
    """

    open_after_fixes: int = 2
    open_after_s: float = 0.0
    clear_after_fixes: int = 2
    clear_after_s: float = 0.0

    def __post_init__(self) -> None:
        if self.open_after_fixes < 1 or self.clear_after_fixes < 1:
            raise RuleError("grace fix counts must be at least 1")
        if self.open_after_s < 0 or self.clear_after_s < 0:
            raise RuleError("grace durations must not be negative")


@dataclass(frozen=True, slots=True)
class Rule:
    """A condition of one case.

    ``valid_from``/``valid_to`` bound when the rule applies (``valid_to`` exclusive; None is open).
    ``params`` by kind: keep_away_from needs ``protected_device_id`` and ``min_distance_m`` and
    takes ``max_protected_age_s`` (default 300); the device kinds take their threshold
    (no_signal ``no_signal_after_s``, battery_critical ``battery_critical_pct``, impossible_speed
    ``max_speed_mps``) and ``enabled`` (see ``geofence.device``).
    """

    rule_id: int
    case_id: int
    kind: RuleKind
    zone_id: int | None = None
    grace: Grace = field(default_factory=Grace)
    schedule: WeeklySchedule | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    severity: Severity = Severity.HIGH
    params: Mapping[str, float | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind.needs_zone and self.zone_id is None:
            raise RuleError(f"rule {self.rule_id}: {self.kind} needs a zone")
        if self.kind is RuleKind.BE_INSIDE_DURING and self.schedule is None:
            raise RuleError(f"rule {self.rule_id}: be_inside_during needs a schedule")
        needed = {"protected_device_id", "min_distance_m"}
        if self.kind is RuleKind.KEEP_AWAY_FROM and not needed <= set(self.params):
            raise RuleError(
                f"rule {self.rule_id}: keep_away_from needs protected_device_id and min_distance_m"
            )
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise RuleError(f"rule {self.rule_id}: valid_to must be after valid_from")

    def number(self, name: str, default: float) -> float:
        """A numeric parameter, or ``default`` when absent."""
        value = self.params.get(name, default)
        if isinstance(value, str):
            raise RuleError(f"rule {self.rule_id}: parameter {name} must be a number")
        return float(value)


@dataclass(frozen=True, slots=True)
class LeavePermit:
    """An approved leave: for ``[valid_from, valid_to)`` the rules in ``rule_ids`` are relaxed.

    Without a destination the named rules are suspended. With ``destination_zone_id`` the named
    stay_inside / be_inside_during rules accept the destination as an extra allowed zone and the
    other named rules are suspended. Being still away after ``valid_to`` opens an episode whose
    reason is ``overdue_return``. Only approved permits are given to the engine; one cancelled
    during its window is given with ``valid_to`` at the cancellation.
    """

    permit_id: int
    case_id: int
    valid_from: datetime
    valid_to: datetime
    rule_ids: frozenset[int]
    destination_zone_id: int | None = None

    def __post_init__(self) -> None:
        if self.valid_to <= self.valid_from:
            raise RuleError(f"permit {self.permit_id}: valid_to must be after valid_from")
