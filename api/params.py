"""Shared request parameters: ids, time ranges, the purpose of reading position data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query

from api.errors import BadRequestError

#: Largest id accepted in a path (bigint range, with room to spare).
MAX_ID = 2**62

CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="case id")]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]

#: Longest range one request may read, in days: a whole measure (bail runs up to 12 months)
#: with room to spare; a 12-month compliance report reads in well under a second (bench.api).
MAX_RANGE_DAYS = 400

FromQuery = Annotated[
    datetime,
    Query(alias="from", description="start, ISO 8601 with offset, e.g. 2026-11-01T00:00+08:00"),
]
ToQuery = Annotated[
    datetime, Query(alias="to", description="end (exclusive), ISO 8601 with offset")
]
PurposeQuery = Annotated[
    str,
    Query(
        min_length=5,
        max_length=500,
        pattern=r"\S",
        description=(
            "why the position data is read (e.g. 羁押必要性审查 case no.); "
            "recorded in the access log"
        ),
    ),
]


@dataclass(frozen=True)
class TimeRange:
    """A half-open range [start, end) in UTC."""

    start: datetime
    end: datetime


def utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise BadRequestError(f"'{name}' needs a UTC offset, e.g. 2026-11-22T08:00:00+08:00")
    return value.astimezone(UTC)


def time_range(range_from: datetime, range_to: datetime) -> TimeRange:
    """A checked range: offsets given, ``to`` after ``from``, at most ``MAX_RANGE_DAYS`` long."""
    start, end = utc(range_from, "from"), utc(range_to, "to")
    if end <= start:
        raise BadRequestError("'to' must be after 'from'")
    if (end - start).total_seconds() > MAX_RANGE_DAYS * 86_400:
        raise BadRequestError(f"a range may span at most {MAX_RANGE_DAYS} days")
    return TimeRange(start, end)
