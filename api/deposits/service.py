"""Deposits of a case: create (the first event) and append events through the state machine."""

from __future__ import annotations

import asyncpg

from api.auth.models import Principal
from api.cases.service import get_visible
from api.deposits import logic
from api.deposits.models import DepositEventIn, DepositEventOut, DepositIn, DepositOut
from api.errors import BadRequestError, ConflictError, NotFoundError
from store import deposits as sql


async def load(*, conn: asyncpg.Connection, case_id: int, deposit_id: int) -> DepositOut:
    row = await conn.fetchrow(sql.SELECT_DEPOSIT, deposit_id, case_id)
    if row is None:
        raise NotFoundError(f"no deposit {deposit_id} in case {case_id}")
    events = [
        DepositEventOut.model_validate(dict(e))
        for e in await conn.fetch(sql.SELECT_EVENTS, deposit_id)
    ]
    return DepositOut.model_validate({**dict(row), "events": events})


async def create(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, deposit: DepositIn
) -> DepositOut:
    async with conn.transaction():
        await get_visible(conn=conn, principal=principal, case_id=case_id, for_update=True)
        if deposit.notary_unit_id is not None and not await conn.fetchval(
            sql.IS_NOTARY, deposit.notary_unit_id
        ):
            raise BadRequestError(f"unit {deposit.notary_unit_id} is not a notary office")
        state = logic.initial(deposit.kind, deposit.amount_fen)
        row = await conn.fetchrow(
            sql.INSERT_DEPOSIT, case_id, deposit.kind.value, deposit.amount_fen, deposit.payer,
            deposit.account_number, deposit.account_holder, deposit.notary_unit_id,
            deposit.beneficiary, principal.user_id,
        )  # fmt: skip
        await conn.execute(
            sql.INSERT_EVENT, row["id"], 1, "decided", deposit.amount_fen, None, state.status,
            deposit.document_number, deposit.document_date, deposit.note, principal.user_id,
        )  # fmt: skip
        return await load(conn=conn, case_id=case_id, deposit_id=row["id"])


async def append(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    deposit_id: int,
    event: DepositEventIn,
) -> DepositOut:
    """Apply one event; 409 with the reason when the state machine refuses it."""
    async with conn.transaction():
        await get_visible(conn=conn, principal=principal, case_id=case_id)
        row = await conn.fetchrow(sql.SELECT_FOR_UPDATE, deposit_id, case_id)
        if row is None:
            raise NotFoundError(f"no deposit {deposit_id} in case {case_id}")
        before = logic.DepositState(
            logic.DepositKind(row["kind"]), row["status"], row["amount_fen"], row["held_fen"],
            row["forfeited_fen"], row["released_fen"], row["returned_fen"],
        )  # fmt: skip
        try:
            after = logic.apply(before, event.kind, event.amount_fen)
        except logic.IllegalTransitionError as exc:
            raise ConflictError(str(exc), status_now=before.status) from exc
        updated = await conn.fetchrow(
            sql.UPDATE_PROJECTION, deposit_id, after.status, after.held_fen, after.forfeited_fen,
            after.released_fen, after.returned_fen, row["version"],
        )  # fmt: skip
        await conn.execute(
            sql.INSERT_EVENT, deposit_id, updated["version"], event.kind.value, event.amount_fen,
            before.status, after.status, event.document_number, event.document_date, event.note,
            principal.user_id,
        )  # fmt: skip
        return await load(conn=conn, case_id=case_id, deposit_id=deposit_id)
