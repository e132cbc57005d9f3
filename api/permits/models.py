"""Schemas of the leave permits domain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class PermitStatus(StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"


class PermitIn(BaseModel):
    """The defendant's request, entered by an officer: why, when (UTC offsets required), and its
    effect: a destination zone allowed besides the stay-inside / curfew zones, and/or the rules
    suspended for the window."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=2000, pattern=r"\S")
    window_start: datetime
    window_end: datetime
    destination_zone_id: int | None = Field(default=None, ge=1, le=2**62)
    suspended_rule_ids: list[int] = Field(
        default_factory=list, max_length=50, description="rules of this case relaxed by it"
    )


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000, description="required when rejecting")


class Cancellation(BaseModel):
    """Why a permit is withdrawn or cancelled (required: the record must say)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=3, max_length=2000, pattern=r"\S")


class PermitOut(BaseModel):
    id: int
    case_id: int
    status: PermitStatus
    reason: str
    destination_zone_id: int | None
    suspended_rule_ids: list[int]
    window_start: datetime
    window_end: datetime
    requested_by: int | None
    decided_by: int | None
    decided_at: datetime | None
    decision_note: str | None
    created_at: datetime
    cancelled_by: int | None
    cancelled_at: datetime | None
    cancel_note: str | None
    ended_at: datetime | None = Field(
        description="when an approved permit cancelled during its window stopped having effect "
        "(its rules apply again and its destination no longer counts from then on); "
        "null when it ran its whole window or never took effect"
    )
