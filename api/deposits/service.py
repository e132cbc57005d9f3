"""Deposits of a case: create (the first event), record steps, propose and decide forfeiture or
refund, record the escrow's judgment. Each step runs in one transaction under the deposit's row
lock: the pure rules decide (``steps.take``), then the projection, the event and the audit row
(who, role, unit, document number) are written together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from api.auth.models import Principal
from api.cases.service import get_visible
from api.deposits import logic, parties, steps
from api.deposits.models import (
    DepositEventIn,
    DepositIn,
    DepositOut,
    Document,
    JudgmentIn,
    ProposalIn,
    RejectionIn,
)
from api.deposits.reads import load, visible_case, visible_to
from api.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from store import audit
from store import deposits as sql


def _actor(principal: Principal) -> parties.Actor:
    return parties.Actor(principal.user_id, principal.role, principal.unit_id)


@dataclass(frozen=True)
class _Step:
    """One event to write: what happened, on which document, and the state after it."""

    kind: str
    amount_fen: int
    after: logic.DepositState
    document_number: str | None = None
    document_date: date | None = None
    document_kind: str | None = None
    note: str = ""


async def _audit(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, deposit_id: int, step: _Step
) -> None:
    detail: dict[str, Any] = {
        "deposit_id": deposit_id, "event": step.kind, "role": principal.role.value,
        "unit_id": principal.unit_id, "document_number": step.document_number,
        "document_kind": step.document_kind, "amount_fen": step.amount_fen,
    }  # fmt: skip
    purpose = f"deposit {deposit_id}: {step.kind}" + (
        f" on {step.document_number}" if step.document_number else ""
    )
    await conn.execute(
        audit.INSERT_ACCESS, principal.name, principal.user_id, case_id, f"deposit.{step.kind}",
        None, None, purpose, detail,
    )  # fmt: skip


async def _write_event(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    deposit_id: int,
    version: int,
    status_before: str | None,
    step: _Step,
) -> None:
    await conn.execute(
        sql.INSERT_EVENT, deposit_id, version, step.kind, step.amount_fen, status_before,
        step.after.status, step.document_number, step.document_date, step.note,
        principal.user_id, step.document_kind, principal.role.value, principal.unit_id,
    )  # fmt: skip
    await _audit(conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id, step=step)


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
        step = _Step(
            "decided", deposit.amount_fen, state, deposit.document_number,
            deposit.document_date, "decision", deposit.note,
        )  # fmt: skip
        await _write_event(
            conn=conn, principal=principal, case_id=case_id, deposit_id=row["id"], version=1,
            status_before=None, step=step,
        )  # fmt: skip
        return await load(conn=conn, principal=principal, case_id=case_id, deposit_id=row["id"])


@dataclass(frozen=True)
class _Locked:
    row: asyncpg.Record
    state: logic.DepositState
    parties: parties.Parties
    ended: bool


async def _lock(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    deposit_id: int,
    default_authority: str,
) -> _Locked:
    case = await visible_case(conn=conn, principal=principal, case_id=case_id)
    row = await conn.fetchrow(sql.SELECT_FOR_UPDATE, deposit_id, case_id)
    if row is None or not visible_to(principal, row):
        raise NotFoundError(f"no deposit {deposit_id} in case {case_id}")
    proposal = None
    if row["proposal_kind"] is not None:
        proposal = logic.Proposal(
            logic.ProposalKind(row["proposal_kind"]), row["proposal_amount_fen"], row["proposal_by"]
        )
    state = logic.DepositState(
        logic.DepositKind(row["kind"]), row["status"], row["amount_fen"], row["held_fen"],
        row["forfeited_fen"], row["released_fen"], row["returned_fen"], proposal, row["award_fen"],
    )  # fmt: skip
    who = parties.Parties(
        parties.DecidingAuthority(case["deciding_authority"] or default_authority),
        case["supervising_unit_id"], case["procuratorate_unit_id"], case["prosecutor_user_id"],
        row["notary_unit_id"],
    )  # fmt: skip
    return _Locked(row, state, who, case["status"] == "released")


def _problem(exc: logic.RefusedError, status_now: str) -> Exception:
    """The API error a refusal becomes: 403 for who may (role, two-person rule), else 409."""
    if isinstance(exc, parties.NotPermittedError | logic.TwoPersonError):
        return ForbiddenError(str(exc))
    return ConflictError(str(exc), status_now=status_now)


@dataclass(frozen=True)
class _Request:
    """A command with the document it rests on (or the note / reason it carries)."""

    command: steps.Command
    document_number: str | None = None
    document_date: date | None = None
    note: str = ""


async def _run(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    deposit_id: int,
    request: _Request,
    default_authority: str,
    judgment: JudgmentIn | None = None,
) -> DepositOut:
    """Lock the deposit, decide the step purely, write projection, event and audit row."""
    async with conn.transaction():
        locked = await _lock(
            conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
            default_authority=default_authority,
        )  # fmt: skip
        row = locked.row
        used = [r["document_number"] for r in await conn.fetch(sql.SELECT_DOCUMENTS, row["id"])]
        try:
            outcome = steps.take(
                locked.state, request.command, actor=_actor(principal), who=locked.parties,
                ended=locked.ended, document=request.document_number, used_documents=used,
            )  # fmt: skip
        except logic.RefusedError as exc:
            raise _problem(exc, locked.state.status) from exc
        after = outcome.after
        if judgment is not None:
            updated = await conn.fetchrow(
                sql.UPDATE_JUDGMENT, row["id"], row["version"], judgment.court,
                judgment.document_number, judgment.effective_date, judgment.award_fen,
            )  # fmt: skip
        else:
            p = after.proposal
            proposal = (
                (p.kind.value, p.amount_fen, p.proposer_id, request.note) if p else (None,) * 4
            )
            updated = await conn.fetchrow(
                sql.UPDATE_PROJECTION, row["id"], after.status, after.held_fen, after.forfeited_fen,
                after.released_fen, after.returned_fen, row["version"], *proposal,
            )  # fmt: skip
        step = _Step(
            outcome.event.value, outcome.amount_fen, after, request.document_number,
            request.document_date, outcome.document_kind, request.note,
        )  # fmt: skip
        await _write_event(
            conn=conn, principal=principal, case_id=case_id, deposit_id=row["id"],
            version=updated["version"], status_before=locked.state.status, step=step,
        )  # fmt: skip
        return await load(conn=conn, principal=principal, case_id=case_id, deposit_id=row["id"])


async def append(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    deposit_id: int,
    event: DepositEventIn,
    default_authority: str,
) -> DepositOut:
    """Record a direct step (received, deposited, released_to_victim, returned_to_payer)."""
    request = _Request(
        steps.Record(event.kind, event.amount_fen), event.document_number, event.document_date,
        event.note,
    )  # fmt: skip
    return await _run(
        conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
        request=request, default_authority=default_authority,
    )  # fmt: skip


async def propose(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    deposit_id: int,
    proposal: ProposalIn,
    default_authority: str,
) -> DepositOut:
    """An officer proposes forfeiture or refund of a bail deposit, with a reason."""
    request = _Request(steps.Propose(proposal.kind, proposal.amount_fen), note=proposal.reason)
    return await _run(
        conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
        request=request, default_authority=default_authority,
    )  # fmt: skip


async def decide(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    deposit_id: int,
    decision: Document | RejectionIn,
    default_authority: str,
) -> DepositOut:
    """The deciding role approves the open proposal on its decision document, or rejects it."""
    if isinstance(decision, Document):
        request = _Request(
            steps.Approve(), decision.document_number, decision.document_date, decision.note
        )
    else:
        request = _Request(steps.Reject(), note=decision.note)
    return await _run(
        conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
        request=request, default_authority=default_authority,
    )  # fmt: skip


async def record_judgment(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    deposit_id: int,
    judgment: JudgmentIn,
    default_authority: str,
) -> DepositOut:
    """Record the effective judgment (court, number, date in effect, award) on an escrow."""
    note = "; ".join(part for part in (judgment.court, judgment.note) if part)
    request = _Request(
        steps.Judgment(judgment.award_fen), judgment.document_number, judgment.effective_date,
        note,
    )  # fmt: skip
    return await _run(
        conn=conn, principal=principal, case_id=case_id, deposit_id=deposit_id,
        request=request, default_authority=default_authority, judgment=judgment,
    )  # fmt: skip
