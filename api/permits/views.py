"""Routes of the leave permits domain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth.models import CASE_READERS, OFFICERS, Principal
from api.cases.service import get_visible as get_case
from api.cases.service import scope_args
from api.deps import PoolDep, require
from api.errors import PROBLEM_RESPONSES, Responses
from api.pagination import CursorQuery, LimitQuery, Page, decode, page
from api.params import MAX_ID, CaseId, Id
from api.permits import service
from api.permits.logic import CANCELLERS, DECIDERS
from api.permits.models import Cancellation, Decision, PermitIn, PermitOut, PermitStatus
from store import permits as sql

router = APIRouter(tags=["permits"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(CASE_READERS))]
Officer = Annotated[Principal, Depends(require(OFFICERS))]
Decider = Annotated[Principal, Depends(require(DECIDERS))]
Canceller = Annotated[Principal, Depends(require(CANCELLERS))]
_DECIDED: Responses = {409: {"description": "the permit was decided already"}}
_CANCELLED: Responses = {
    409: {"description": "the permit is rejected, cancelled already, or has ended"}
}


def _out(row: Any) -> PermitOut:
    return PermitOut.model_validate(dict(row))


@router.post("/cases/{case_id}/permits", status_code=201, summary="Enter a leave request")
async def request_permit(
    case_id: CaseId, body: PermitIn, pool: PoolDep, principal: Officer
) -> PermitOut:
    async with pool.acquire() as conn:
        return _out(
            await service.request(conn=conn, principal=principal, case_id=case_id, permit=body)
        )


@router.get("/cases/{case_id}/permits", summary="The case's permits by window start")
async def case_permits(case_id: CaseId, pool: PoolDep, principal: Reader) -> list[PermitOut]:
    async with pool.acquire() as conn:
        await get_case(conn=conn, principal=principal, case_id=case_id)
        rows = await conn.fetch(sql.LIST_FOR_CASE, case_id, None, None)
    return [_out(r) for r in rows]


@router.get("/permits", summary="Permits of the cases in the caller's scope, newest first")
async def list_permits(
    pool: PoolDep,
    principal: Reader,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    status: Annotated[PermitStatus | None, Query()] = None,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[PermitOut]:
    rows = await pool.fetch(
        sql.LIST_VISIBLE, *scope_args(principal), decode(cursor), limit + 1,
        status.value if status else None, case_id,
    )  # fmt: skip
    return page(rows, limit, _out)


@router.get("/permits/{permit_id}", summary="One permit")
async def get_permit(permit_id: Id, pool: PoolDep, principal: Reader) -> PermitOut:
    async with pool.acquire() as conn:
        return _out(await service.get_visible(conn=conn, principal=principal, permit_id=permit_id))


@router.post(
    "/permits/{permit_id}/approve", responses=_DECIDED,
    summary="Approve (supervisor of the supervising unit, or the case's prosecutor)",
)  # fmt: skip
async def approve(permit_id: Id, body: Decision, pool: PoolDep, principal: Decider) -> PermitOut:
    async with pool.acquire() as conn:
        row = await service.decide(
            conn=conn, principal=principal, permit_id=permit_id, approve=True, decision=body
        )
    return _out(row)


@router.post(
    "/permits/{permit_id}/reject", responses=_DECIDED,
    summary="Reject with a note (supervisor of the supervising unit, or the case's prosecutor)",
)  # fmt: skip
async def reject(permit_id: Id, body: Decision, pool: PoolDep, principal: Decider) -> PermitOut:
    async with pool.acquire() as conn:
        row = await service.decide(
            conn=conn, principal=principal, permit_id=permit_id, approve=False, decision=body
        )
    return _out(row)


@router.post(
    "/permits/{permit_id}/cancel", responses=_CANCELLED,
    summary="Withdraw a request or cancel an approved permit, with a note saying why",
    description=(
        "A requested permit may be withdrawn by the supervising unit's police or supervisor or "
        "by the case's prosecutor; an approved one is cancelled by the supervisor or the case's "
        "prosecutor, before its window or during it. Cancelled during its window, it ends now "
        "(``ended_at``): its suspended rules apply again and its destination zone stops "
        "counting; a defendant still away is then overdue (an ``overdue_return`` alert after "
        "the rule's grace), one already back is not."
    ),
)  # fmt: skip
async def cancel(
    permit_id: Id, body: Cancellation, pool: PoolDep, principal: Canceller
) -> PermitOut:
    async with pool.acquire() as conn:
        row = await service.cancel(
            conn=conn, principal=principal, permit_id=permit_id, cancellation=body
        )
    return _out(row)
