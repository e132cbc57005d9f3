"""Schemas of the cases domain."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, field_validator, model_validator


class CaseStatus(StrEnum):
    enrolled = "enrolled"
    active = "active"
    suspended = "suspended"
    released = "released"


#: Allowed status changes. Release is final: it ends device assignment and starts retention.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.enrolled: frozenset({CaseStatus.active, CaseStatus.released}),
    CaseStatus.active: frozenset({CaseStatus.suspended, CaseStatus.released}),
    CaseStatus.suspended: frozenset({CaseStatus.active, CaseStatus.released}),
    CaseStatus.released: frozenset(),
}

Measure = Literal["bail", "residential_surveillance"]
#: The organ that decided the measure (决定机关); it decides forfeiture and refund of a deposit.
DecidingAuthority = Literal["public_security", "procuratorate", "court"]
_AUTHORITY = (
    "the organ that decided the measure (决定机关): it decides forfeiture and refund of the bail "
    "deposit (public_security: the supervisor; procuratorate: the case's prosecutor); "
    "null: the setting BW_API__DEFAULT_DECIDING_AUTHORITY"
)


def _check_timezone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError(f"unknown time zone {value!r} (use an IANA name, e.g. Asia/Shanghai)")
    return value


class CaseIn(BaseModel):
    """A case to enrol: the measure (取保候审 bail or 监视居住), its period, who supervises it."""

    case_number: str = Field(min_length=1, max_length=64, pattern=r"^[\w\-/()（）〔〕]+$")
    person_id: int = Field(ge=1, le=2**62)
    measure: Measure
    period_start: date
    period_end: date
    supervising_unit_id: int = Field(ge=1, le=2**62)
    procuratorate_unit_id: int | None = Field(default=None, ge=1, le=2**62)
    prosecutor_user_id: int | None = Field(default=None, ge=1, le=2**62)
    timezone: str = "Asia/Shanghai"
    conditions: dict[str, Any] = Field(
        default_factory=dict, description="obligations beyond the rules, e.g. reporting duties"
    )
    no_signal_limit_s: int = Field(default=1800, ge=60, le=86_400, description="seconds")
    deciding_authority: DecidingAuthority | None = Field(default=None, description=_AUTHORITY)

    _tz = field_validator("timezone")(_check_timezone)

    @model_validator(mode="after")
    def _period(self) -> CaseIn:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class CasePatch(BaseModel):
    """Fields to change; omitted fields stay as they are."""

    period_start: date | None = None
    period_end: date | None = None
    procuratorate_unit_id: int | None = Field(default=None, ge=1, le=2**62)
    prosecutor_user_id: int | None = Field(default=None, ge=1, le=2**62)
    conditions: dict[str, Any] | None = None
    no_signal_limit_s: int | None = Field(default=None, ge=60, le=86_400)
    legal_hold: bool | None = Field(
        default=None, description="keeps position data past retention (e.g. pending appeal)"
    )
    deciding_authority: DecidingAuthority | None = Field(default=None, description=_AUTHORITY)


class StatusChange(BaseModel):
    status: CaseStatus
    note: str = Field(min_length=3, max_length=2000, description="why (decision, document no.)")


class CaseOut(BaseModel):
    id: int
    case_number: str
    person_id: int
    measure: Measure
    status: CaseStatus
    period_start: date | None
    period_end: date | None
    supervising_unit_id: int
    procuratorate_unit_id: int | None
    prosecutor_user_id: int | None
    timezone: str
    conditions: dict[str, Any]
    no_signal_limit_s: int
    released_at: datetime | None
    legal_hold: bool
    purged_at: datetime | None
    created_at: datetime
    deciding_authority: DecidingAuthority | None = Field(default=None, description=_AUTHORITY)
    device_id: str | None = Field(description="the watch assigned now, if any")


class CaseEvent(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    from_status: CaseStatus | None
    to_status: CaseStatus
    note: str
