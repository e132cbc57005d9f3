"""Leave permits. Responsibility (who decides): the supervisor of the case's supervising unit or
a prosecutor of the case (its procuratorate, or assigned to it) — the same people who see the
case. Police enter requests and never decide; nobody decides a request they entered. Approved
permits reach the engine, which applies their effects on the rules it names; a cancellation
(``api.permits.logic``) withdraws a request or ends an approved permit early.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from api.auth.models import Principal
from api.cases.service import get_visible as get_case
from api.cases.service import scope_args
from api.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from api.params import utc
from api.permits.logic import cancellation_end
from api.permits.models import Cancellation, Decision, PermitIn, PermitStatus
from store import permits as sql
from store import zones

#: Longest leave one permit may grant.
MAX_PERMIT = timedelta(days=30)


async def get_visible(
    *, conn: asyncpg.Connection, principal: Principal, permit_id: int, for_update: bool = False
) -> asyncpg.Record:
    query = sql.SELECT_VISIBLE_FOR_UPDATE if for_update else sql.SELECT_VISIBLE
    row: asyncpg.Record | None = await conn.fetchrow(query, permit_id, *scope_args(principal))
    if row is None:
        raise NotFoundError(f"no permit {permit_id}")
    return row


async def request(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, permit: PermitIn
) -> asyncpg.Record:
    """Record a leave request (status requested) for a case of the caller's unit."""
    start, end = utc(permit.window_start, "window_start"), utc(permit.window_end, "window_end")
    if end <= start:
        raise BadRequestError("window_end must be after window_start")
    if end - start > MAX_PERMIT:
        raise BadRequestError(f"a permit may span at most {MAX_PERMIT.days} days")
    rule_ids = sorted(set(permit.suspended_rule_ids))
    if permit.destination_zone_id is None and not rule_ids:
        raise BadRequestError("a permit needs a destination_zone_id or suspended_rule_ids")
    async with conn.transaction():
        case = await get_case(conn=conn, principal=principal, case_id=case_id)
        if case["status"] == "released":
            raise ConflictError(f"case {case_id} is released")
        if rule_ids and await conn.fetchval(sql.COUNT_CASE_RULES, case_id, rule_ids) != len(
            rule_ids
        ):
            raise BadRequestError(f"suspended_rule_ids must be rules of case {case_id}")
        if permit.destination_zone_id is not None and not await conn.fetchrow(
            zones.SELECT_VISIBLE, permit.destination_zone_id, *scope_args(principal)
        ):
            raise BadRequestError(f"no zone {permit.destination_zone_id} in your scope")
        row: asyncpg.Record = await conn.fetchrow(
            sql.INSERT_PERMIT, case_id, permit.reason.strip(), permit.destination_zone_id,
            rule_ids, start, end, principal.user_id,
        )  # fmt: skip
        return row


async def decide(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    permit_id: int,
    approve: bool,
    decision: Decision,
) -> asyncpg.Record:
    """Approve or reject a requested permit (409 once decided; 403 for one's own request).
    The caller's role is one of ``logic.DECIDERS`` (checked by the route)."""
    note = decision.note.strip()
    if not approve and not note:
        raise BadRequestError("a rejection needs a note saying why")
    async with conn.transaction():
        current = await get_visible(
            conn=conn, principal=principal, permit_id=permit_id, for_update=True
        )
        if current["requested_by"] == principal.user_id:
            raise ForbiddenError("you entered this request; someone else must decide it")
        if current["status"] != PermitStatus.requested:
            raise ConflictError(
                f"the permit is {current['status']} already", status_now=current["status"]
            )
        status = PermitStatus.approved if approve else PermitStatus.rejected
        row: asyncpg.Record = await conn.fetchrow(
            sql.DECIDE, permit_id, status.value, principal.user_id, note or None
        )
        return row


async def cancel(
    *, conn: asyncpg.Connection, principal: Principal, permit_id: int, cancellation: Cancellation
) -> asyncpg.Record:
    """Withdraw a requested permit or cancel an approved one that has not ended, recording who,
    when and why (409 when nothing is left to cancel; 403 for police on an approved permit).
    The caller's role is one of ``logic.CANCELLERS`` (checked by the route). The update bumps
    ``alert_config_version``, so ingesters reload the permit with its new end."""
    async with conn.transaction():
        current = await get_visible(
            conn=conn, principal=principal, permit_id=permit_id, for_update=True
        )
        ended_at = cancellation_end(
            status=PermitStatus(current["status"]),
            window_start=current["window_start"],
            window_end=current["window_end"],
            role=principal.role,
            now=await conn.fetchval(sql.SELECT_NOW),
        )
        row: asyncpg.Record = await conn.fetchrow(
            sql.CANCEL, permit_id, principal.user_id, cancellation.note.strip(), ended_at
        )
        return row
