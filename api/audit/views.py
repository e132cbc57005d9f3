"""Routes of the audit domain: auditors read the access log (and nothing personal)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.auth.models import Principal, Role
from api.deps import PoolDep, require
from api.errors import PROBLEM_RESPONSES
from api.pagination import CursorQuery, LimitQuery, Page, decode, page
from store import audit

router = APIRouter(prefix="/access-log", tags=["audit"], responses=PROBLEM_RESPONSES)

Auditor = Annotated[Principal, Depends(require({Role.auditor}))]


class AccessEntry(BaseModel):
    id: int
    at: datetime
    principal: str
    user_id: int | None
    case_id: int | None
    action: str
    range_from: datetime | None
    range_to: datetime | None
    purpose: str
    detail: dict[str, Any]


@router.get("", summary="Reads of position data, newest first (auditors only)")
async def list_access(
    pool: PoolDep,
    principal: Auditor,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    case_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> Page[AccessEntry]:
    rows = await pool.fetch(
        audit.LIST_ACCESS, decode(cursor), limit + 1, case_id, user_id, since, until
    )
    return page(rows, limit, lambda r: AccessEntry.model_validate(dict(r)))
