"""Routes of the deposits domain. Police record a decided deposit and its payment and propose
forfeiture or refund; the deciding role (a supervisor, or the case's prosecutor, per the case's
deciding authority) approves or rejects, never the proposer; the notary office holding an
escrow records the judgment, the release to the victim and the return of the rest (or the
deciding role records them on the office's written notice). Who may take which step is in
``api.deposits.parties``; refusals are problem details saying why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.models import CASE_READERS, OFFICERS, Principal, Role
from api.deposits import reads, service
from api.deposits.models import (
    DepositEventIn,
    DepositIn,
    DepositOut,
    DepositSummary,
    Document,
    JudgmentIn,
    ProposalIn,
    RejectionIn,
)
from api.deps import PoolDep, SettingsDep, require
from api.errors import PROBLEM_RESPONSES, Responses
from api.pagination import CursorQuery, LimitQuery, Page
from api.params import CaseId, Id

router = APIRouter(
    prefix="/cases/{case_id}/deposits", tags=["deposits"], responses=PROBLEM_RESPONSES
)
#: Deposits across the caller's cases (a notary: the escrows its office holds).
listing = APIRouter(prefix="/deposits", tags=["deposits"], responses=PROBLEM_RESPONSES)

#: Roles that take some deposit step; which step each may take is decided per case.
ACTORS = OFFICERS | {Role.prosecutor, Role.notary}
Reader = Annotated[Principal, Depends(require(CASE_READERS | {Role.notary}))]
Officer = Annotated[Principal, Depends(require(OFFICERS))]
Actor = Annotated[Principal, Depends(require(ACTORS))]
REFUSALS: Responses = {
    403: {"description": "the caller's role may not take this step (or proposed it)"},
    409: {"description": "the deposit's state, balance, award or documents refuse this step"},
}


@listing.get(
    "",
    summary="Deposits the caller sees, newest first: a notary the escrows its office holds; "
    "awaiting_decision=true only those with an open proposal (the deciding role's inbox)",
)
async def list_visible(
    pool: PoolDep,
    principal: Reader,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    awaiting_decision: Annotated[bool, Query()] = False,
) -> Page[DepositSummary]:
    async with pool.acquire() as conn:
        return await reads.list_visible(
            conn=conn, principal=principal, cursor=cursor, limit=limit,
            awaiting_decision=awaiting_decision,
        )  # fmt: skip


@router.get("", summary="The case's deposits with their event histories")
async def list_deposits(case_id: CaseId, pool: PoolDep, principal: Reader) -> list[DepositOut]:
    async with pool.acquire() as conn:
        return await reads.list_for_case(conn=conn, principal=principal, case_id=case_id)


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
        await reads.visible_case(conn=conn, principal=principal, case_id=case_id)
        return await reads.load(
            conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id
        )


@router.post(
    "/{deposit_id}/events",
    summary="Record a step on its document: received, deposited, released_to_victim (up to the "
    "judgment's award), returned_to_payer (the rest)",
    responses=REFUSALS,
)
async def append_event(
    case_id: CaseId,
    deposit_id: Id,
    body: DepositEventIn,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Actor,
) -> DepositOut:
    async with pool.acquire() as conn:
        return await service.append(
            conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id, event=body,
            default_authority=settings.api.default_deciding_authority,
        )  # fmt: skip


@router.post(
    "/{deposit_id}/proposals",
    summary="Propose forfeiture (part or all) or refund (the rest, after the measure ends) of a "
    "bail deposit, with a reason",
    responses=REFUSALS,
)
async def propose(
    case_id: CaseId,
    deposit_id: Id,
    body: ProposalIn,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Officer,
) -> DepositOut:
    async with pool.acquire() as conn:
        return await service.propose(
            conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
            proposal=body, default_authority=settings.api.default_deciding_authority,
        )  # fmt: skip


@router.post(
    "/{deposit_id}/proposal/approve",
    summary="Approve the open proposal with the decision document (the deciding role, not the "
    "proposer)",
    responses=REFUSALS,
)
async def approve(
    case_id: CaseId,
    deposit_id: Id,
    body: Document,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Actor,
) -> DepositOut:
    async with pool.acquire() as conn:
        return await service.decide(
            conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
            decision=body, default_authority=settings.api.default_deciding_authority,
        )  # fmt: skip


@router.post(
    "/{deposit_id}/proposal/reject",
    summary="Reject the open proposal with a note (the deciding role, not the proposer)",
    responses=REFUSALS,
)
async def reject(
    case_id: CaseId,
    deposit_id: Id,
    body: RejectionIn,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Actor,
) -> DepositOut:
    async with pool.acquire() as conn:
        return await service.decide(
            conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
            decision=body, default_authority=settings.api.default_deciding_authority,
        )  # fmt: skip


@router.post(
    "/{deposit_id}/judgment",
    summary="Record the effective judgment an escrow release depends on (court, document "
    "number, date in effect, award)",
    responses=REFUSALS,
)
async def record_judgment(
    case_id: CaseId,
    deposit_id: Id,
    body: JudgmentIn,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Actor,
) -> DepositOut:
    async with pool.acquire() as conn:
        return await service.record_judgment(
            conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
            judgment=body, default_authority=settings.api.default_deciding_authority,
        )  # fmt: skip
