"""Routes of the deposits domain: police enter the steps; prosecutors and admins read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth.models import CASE_READERS, OFFICERS, Principal
from api.cases.service import get_visible
from api.deposits import service
from api.deposits.models import DepositEventIn, DepositIn, DepositOut
from api.deps import PoolDep, require
from api.errors import PROBLEM_RESPONSES
from api.params import CaseId, Id
from store import deposits as sql

router = APIRouter(
    prefix="/cases/{case_id}/deposits", tags=["deposits"], responses=PROBLEM_RESPONSES
)

Reader = Annotated[Principal, Depends(require(CASE_READERS))]
Officer = Annotated[Principal, Depends(require(OFFICERS))]


@router.get("", summary="The case's deposits with their event histories")
async def list_deposits(case_id: CaseId, pool: PoolDep, principal: Reader) -> list[DepositOut]:
    async with pool.acquire() as conn:
        await get_visible(conn=conn, principal=principal, case_id=case_id)
        rows = await conn.fetch(sql.LIST_FOR_CASE, case_id)
        return [await service.load(conn=conn, case_id=case_id, deposit_id=r["id"]) for r in rows]


@router.post("", status_code=201, summary="Record a decided deposit (status pending)")
async def create_deposit(
    case_id: CaseId, body: DepositIn, pool: PoolDep, principal: Officer
) -> DepositOut:
    async with pool.acquire() as conn:
        return await service.create(conn=conn, principal=principal, case_id=case_id, deposit=body)


@router.get("/{deposit_id}", summary="One deposit with its events")
async def get_deposit(
    case_id: CaseId, deposit_id: Id, pool: PoolDep, principal: Reader
) -> DepositOut:
    async with pool.acquire() as conn:
        await get_visible(conn=conn, principal=principal, case_id=case_id)
        return await service.load(conn=conn, case_id=case_id, deposit_id=deposit_id)


@router.post(
    "/{deposit_id}/events",
    summary="Append a step (received, forfeited, refunded, deposited, released_to_victim, "
    "returned_to_payer) with its deciding document",
    responses={409: {"description": "the state machine refuses this step"}},
)
async def append_event(
    case_id: CaseId, deposit_id: Id, body: DepositEventIn, pool: PoolDep, principal: Officer
) -> DepositOut:
    async with pool.acquire() as conn:
        return await service.append(
            conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id, event=body
        )
