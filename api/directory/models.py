"""Schemas of the directory domain (units, users, persons). Password hashes are never output."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.auth.models import Role

UnitKind = Literal["police", "procuratorate", "court", "notary"]


def _check_tz(value: str | None) -> str | None:
    if value is not None and value not in available_timezones():
        raise ValueError(f"unknown time zone {value!r} (use an IANA name, e.g. Asia/Shanghai)")
    return value


class UnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: UnitKind
    parent_id: int = Field(ge=1, le=2**62, description="a unit within your subtree")
    timezone: str = "Asia/Shanghai"

    _tz = field_validator("timezone")(_check_tz)


class UnitPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None

    _tz = field_validator("timezone")(_check_tz)


class UnitOut(BaseModel):
    id: int
    code: str
    name: str
    kind: UnitKind
    parent_id: int | None
    timezone: str
    created_at: datetime


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    unit_id: int = Field(ge=1, le=2**62)
    password: str = Field(min_length=12, max_length=256, description="stored as an argon2 hash")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = Field(default=None, description="false deactivates (kept for the log)")
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=12, max_length=256)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    unit_id: int
    active: bool
    created_at: datetime


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=200)
    id_number: str | None = Field(default=None, pattern=r"^[0-9]{17}[0-9Xx]$")
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 -]{3,31}$")
    address: str | None = Field(default=None, max_length=500)


class PersonOut(BaseModel):
    id: int
    full_name: str
    id_number: str | None
    birth_date: date | None
    phone: str | None
    address: str | None
    created_at: datetime
