"""Types of the auth domain: roles, the authenticated caller, token responses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field


class Role(StrEnum):
    """What a user may do. Police and supervisors act for their station; prosecutors for their
    procuratorate's cases; administrators enrol; auditors read the access log only; notaries
    (staff of a notary office, 公证机构) see and act on the escrows their office holds only."""

    police = "police"
    supervisor = "supervisor"
    prosecutor = "prosecutor"
    admin = "admin"
    auditor = "auditor"
    notary = "notary"


#: Roles that may read position data (tracks, latest positions, compliance): always with a purpose.
POSITION_READERS = frozenset({Role.police, Role.supervisor, Role.prosecutor})
#: Roles that see case records (metadata) within their scope.
CASE_READERS = POSITION_READERS | {Role.admin}
#: Roles that enrol and manage cases, devices, zones and rules.
MANAGERS = frozenset({Role.admin, Role.supervisor})
#: Roles that act on alerts and enter leave requests and deposit steps (the executing police).
OFFICERS = frozenset({Role.police, Role.supervisor})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as read from the database on each request."""

    user_id: int
    username: str
    role: Role
    unit_id: int

    @property
    def name(self) -> str:
        """How the caller is named in the access log."""
        return f"{self.role.value}:{self.username}"


class TokenPair(BaseModel):
    """OAuth2 token response (RFC 6749 section 5.1) with a refresh token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str
    refresh_expires_in: int = Field(description="seconds the refresh token is valid")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class Me(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    unit_id: int
