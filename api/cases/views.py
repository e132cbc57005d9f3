"""Routes of the cases domain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth.models import CASE_READERS, MANAGERS, Principal
from api.cases import service
from api.cases.models import (
    CaseEvent,
    CaseIn,
    CaseOut,
    CasePatch,
    CaseStatus,
    Measure,
    StatusChange,
)
from api.deps import PoolDep, require
from api.errors import PROBLEM_RESPONSES
from api.pagination import CursorQuery, LimitQuery, Page, decode, page
from store import cases as sql

router = APIRouter(prefix="/cases", tags=["cases"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(CASE_READERS))]
Manager = Annotated[Principal, Depends(require(MANAGERS))]


def _out(row: Any) -> CaseOut:
    return CaseOut.model_validate(dict(row))


@router.get("", summary="Cases in the caller's scope, newest first")
async def list_cases(
    pool: PoolDep,
    principal: Reader,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    status: Annotated[CaseStatus | None, Query()] = None,
    measure: Annotated[Measure | None, Query()] = None,
    number: Annotated[str | None, Query(max_length=64, description="case number prefix")] = None,
) -> Page[CaseOut]:
    rows = await pool.fetch(
        sql.LIST_VISIBLE, *service.scope_args(principal), decode(cursor), limit + 1,
        status.value if status else None, measure, number,
    )  # fmt: skip
    return page(rows, limit, _out)


@router.post("", status_code=201, summary="Enrol a case (status enrolled)")
async def create_case(body: CaseIn, pool: PoolDep, principal: Manager) -> CaseOut:
    async with pool.acquire() as conn:
        return _out(await service.create(conn=conn, principal=principal, case=body))


@router.get("/{case_id}", summary="One case")
async def get_case(case_id: int, pool: PoolDep, principal: Reader) -> CaseOut:
    async with pool.acquire() as conn:
        return _out(await service.get_visible(conn=conn, principal=principal, case_id=case_id))


@router.patch("/{case_id}", summary="Amend period, prosecutor, conditions or legal hold")
async def amend_case(case_id: int, body: CasePatch, pool: PoolDep, principal: Manager) -> CaseOut:
    async with pool.acquire() as conn:
        row = await service.amend(conn=conn, principal=principal, case_id=case_id, patch=body)
        return _out(row)


@router.post(
    "/{case_id}/status",
    summary="Change status: enrolled -> active <-> suspended -> released (release is final)",
    description="Release ends the device assignment and starts the retention clock.",
    responses={409: {"description": "illegal transition"}},
)
async def change_status(
    case_id: int, body: StatusChange, pool: PoolDep, principal: Manager
) -> CaseOut:
    async with pool.acquire() as conn:
        row = await service.change_status(
            conn=conn, principal=principal, case_id=case_id, change=body
        )
        return _out(row)


@router.get("/{case_id}/events", summary="The case's status history")
async def case_events(case_id: int, pool: PoolDep, principal: Reader) -> list[CaseEvent]:
    async with pool.acquire() as conn:
        await service.get_visible(conn=conn, principal=principal, case_id=case_id)
        rows = await conn.fetch(sql.SELECT_EVENTS, case_id)
    return [CaseEvent.model_validate(dict(r)) for r in rows]
