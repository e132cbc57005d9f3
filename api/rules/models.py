"""Schemas of the case rules domain. ``grace`` and ``schedule`` are stored as the JSON given
here and read by the engine as ``geofence.models.Grace`` and ``WeeklySchedule``."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from geofence.models import Grace, RuleKind, Severity, Weekday, WeeklySchedule, Window

HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class GraceIn(BaseModel):
    """Hysteresis: an episode opens after ``open_after_fixes`` consecutive certain violations
    spanning at least ``open_after_s`` seconds, and clears after the same on the other side."""

    model_config = ConfigDict(extra="forbid")

    open_after_fixes: int = Field(default=2, ge=1, le=10_000)
    open_after_s: float = Field(default=0.0, ge=0, le=7 * 86_400, description="seconds")
    clear_after_fixes: int = Field(default=2, ge=1, le=10_000)
    clear_after_s: float = Field(default=0.0, ge=0, le=7 * 86_400, description="seconds")

    def to_engine(self) -> Grace:
        return Grace(**self.model_dump())


class WindowIn(BaseModel):
    """Local wall-clock window on each of ``days`` (0 = Monday); ``end <= start`` crosses
    midnight into the next day; ``start == end`` is 24 hours."""

    model_config = ConfigDict(extra="forbid")

    days: list[int] = Field(min_length=1, max_length=7)
    start: str = Field(pattern=HHMM, examples=["22:00"])
    end: str = Field(pattern=HHMM, examples=["06:00"])

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(not 0 <= d <= 6 for d in value) or len(set(value)) != len(value):
            raise ValueError("days are distinct numbers 0 (Monday) to 6 (Sunday)")
        return value


class ScheduleIn(BaseModel):
    """When the rule applies, weekly, in an IANA time zone (wall clock, DST-safe)."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "Asia/Shanghai"
    windows: list[WindowIn] = Field(min_length=1, max_length=50)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r} (use an IANA name, e.g. Asia/Shanghai)")
        return value

    def to_engine(self) -> WeeklySchedule:
        windows = tuple(
            Window(Weekday(d), time.fromisoformat(w.start), time.fromisoformat(w.end))
            for w in self.windows
            for d in w.days
        )
        return WeeklySchedule(windows, self.timezone)


class RuleIn(BaseModel):
    """A condition of the case. Zoned kinds (stay_inside, stay_outside, be_inside_during) need
    ``zone_id``; be_inside_during needs ``schedule``; keep_away_from needs ``params``
    ``protected_device_id`` and ``min_distance_m`` (metres). Device kinds replace the case's
    default for their condition while they apply: no_signal ``no_signal_after_s`` (seconds),
    battery_critical ``battery_critical_pct`` (percent), impossible_speed ``max_speed_mps``
    (m/s, lowers the alerting threshold only), the severity, and ``enabled: false`` to switch
    the condition off for the rule's period (semantics: ``geofence.device``)."""

    model_config = ConfigDict(extra="forbid")

    kind: RuleKind
    zone_id: int | None = Field(default=None, ge=1, le=2**62)
    grace: GraceIn = Field(default_factory=GraceIn)
    schedule: ScheduleIn | None = None
    params: dict[str, bool | float | str] = Field(default_factory=dict, max_length=20)
    severity: Severity | None = Field(default=None, description="default: the engine's choice")
    valid_from: datetime | None = None
    valid_to: datetime | None = Field(default=None, description="exclusive")


class RulePatch(BaseModel):
    """Fields to change; omitted fields stay. ``active: false`` deactivates the rule (it is
    kept for the record)."""

    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    grace: GraceIn | None = None
    schedule: ScheduleIn | None = None
    severity: Severity | None = None


class RuleOut(BaseModel):
    id: int
    case_id: int
    kind: str
    zone_id: int | None
    grace: dict[str, Any]
    schedule: dict[str, Any] | None
    params: dict[str, Any]
    severity: Severity | None
    valid_from: datetime | None
    valid_to: datetime | None
    active: bool
    created_at: datetime
