"""Reading deposits: who sees which (a notary only the escrows its office holds), and the
deposit with its open proposal, its judgment and its event history."""

from __future__ import annotations

import asyncpg

from api.auth.models import Principal, Role
from api.cases.service import get_visible
from api.deposits.models import (
    DepositEventOut,
    DepositOut,
    DepositSummary,
    JudgmentOut,
    ProposalOut,
    yuan,
)
from api.errors import NotFoundError
from api.pagination import Page, decode, page
from store import deposits as sql


async def visible_case(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int
) -> asyncpg.Record:
    """The case if the caller may see its deposits: a notary only the cases whose escrow its
    office holds (and only those escrows); everyone else through the case's visibility."""
    if principal.role is Role.notary:
        row: asyncpg.Record | None = await conn.fetchrow(
            sql.SELECT_CASE_FOR_NOTARY, case_id, principal.unit_id
        )
        if row is None:
            raise NotFoundError(f"no case {case_id}")
        return row
    return await get_visible(conn=conn, principal=principal, case_id=case_id)


def visible_to(principal: Principal, row: asyncpg.Record) -> bool:
    return principal.role is not Role.notary or row["notary_unit_id"] == principal.unit_id


def _fields(row: asyncpg.Record) -> dict[str, object]:
    """The row's fields with its open proposal and its judgment as nested objects."""
    proposal = judgment = None
    if row["proposal_kind"] is not None:
        proposal = ProposalOut(
            kind=row["proposal_kind"], amount_fen=row["proposal_amount_fen"],
            amount_yuan=yuan(row["proposal_amount_fen"]), reason=row["proposal_reason"] or "",
            proposed_by=row["proposal_by"], proposed_at=row["proposal_at"],
        )  # fmt: skip
    if row["award_fen"] is not None:
        judgment = JudgmentOut(
            court=row["judgment_court"], document_number=row["judgment_number"],
            effective_date=row["judgment_effective_date"], award_fen=row["award_fen"],
            award_yuan=yuan(row["award_fen"]),
        )  # fmt: skip
    return {**dict(row), "proposal": proposal, "judgment": judgment}


def summary(row: asyncpg.Record) -> DepositSummary:
    return DepositSummary.model_validate(_fields(row))


async def load(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, deposit_id: int
) -> DepositOut:
    row = await conn.fetchrow(sql.SELECT_DEPOSIT, deposit_id, case_id)
    if row is None or not visible_to(principal, row):
        raise NotFoundError(f"no deposit {deposit_id} in case {case_id}")
    events = [
        DepositEventOut.model_validate(dict(e))
        for e in await conn.fetch(sql.SELECT_EVENTS, deposit_id)
    ]
    return DepositOut.model_validate({**_fields(row), "events": events})


async def list_for_case(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int
) -> list[DepositOut]:
    await visible_case(conn=conn, principal=principal, case_id=case_id)
    if principal.role is Role.notary:
        rows = await conn.fetch(sql.LIST_FOR_NOTARY, case_id, principal.unit_id)
    else:
        rows = await conn.fetch(sql.LIST_FOR_CASE, case_id)
    return [
        await load(conn=conn, principal=principal, case_id=case_id, deposit_id=r["id"])
        for r in rows
    ]


async def list_visible(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    cursor: str | None,
    limit: int,
    awaiting_decision: bool,
) -> Page[DepositSummary]:
    """The deposits the caller sees across cases, newest first, a page at a time."""
    rows = await conn.fetch(
        sql.LIST_VISIBLE, principal.role.value, principal.unit_id, principal.user_id,
        decode(cursor), limit + 1, awaiting_decision,
    )  # fmt: skip
    return page(rows, limit, summary)
