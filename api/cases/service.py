"""Case records within the caller's scope: read, enrol, amend, change status.

``get_visible`` is the gate every case-scoped route passes: a case outside the caller's scope is
"not found" (404), so its existence does not leak; a role that may never do the thing is 403.
"""

from __future__ import annotations

import asyncpg

from api.auth.models import CASE_READERS, POSITION_READERS, Principal, Role
from api.cases.models import TRANSITIONS, CaseIn, CasePatch, CaseStatus, StatusChange
from api.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from store import cases as sql


def scope_args(principal: Principal) -> tuple[str, int, int]:
    """The ``($role, $unit, $uid)`` parameters of the visibility predicate."""
    return principal.role.value, principal.unit_id, principal.user_id


async def get_visible(
    *,
    conn: asyncpg.Connection,
    principal: Principal,
    case_id: int,
    positions: bool = False,
    for_update: bool = False,
) -> asyncpg.Record:
    """The case if the caller may see it; ``positions`` also demands a position-reading role."""
    readers = POSITION_READERS if positions else CASE_READERS
    if principal.role not in readers:
        what = "position data" if positions else "case records"
        raise ForbiddenError(f"role {principal.role.value} may not read {what}")
    query = sql.SELECT_VISIBLE_FOR_UPDATE if for_update else sql.SELECT_VISIBLE
    row: asyncpg.Record | None = await conn.fetchrow(query, case_id, *scope_args(principal))
    if row is None:
        raise NotFoundError(f"no case {case_id}")
    return row


async def _check_units(
    *, conn: asyncpg.Connection, procuratorate: int | None, prosecutor: int | None
) -> None:
    if procuratorate is not None and not await conn.fetchval(
        sql.UNIT_OF_KIND, procuratorate, "procuratorate"
    ):
        raise BadRequestError(f"unit {procuratorate} is not a procuratorate")
    if prosecutor is not None:
        if procuratorate is None:
            raise BadRequestError("a prosecutor needs the procuratorate_unit_id they belong to")
        if not await conn.fetchval(sql.PROSECUTOR_OF, prosecutor, procuratorate):
            raise BadRequestError(f"user {prosecutor} is not a prosecutor of unit {procuratorate}")


async def may_manage_unit(*, conn: asyncpg.Connection, principal: Principal, unit_id: int) -> bool:
    """Whether the caller manages ``unit_id``: a supervisor their own, an admin their tree."""
    if principal.role is Role.supervisor:
        return unit_id == principal.unit_id
    if principal.role is Role.admin:
        return bool(await conn.fetchval(sql.UNIT_WITHIN, unit_id, principal.unit_id))
    return False


async def create(*, conn: asyncpg.Connection, principal: Principal, case: CaseIn) -> asyncpg.Record:
    """Enrol a case (status ``enrolled``) for a police unit the caller manages."""
    if not await may_manage_unit(conn=conn, principal=principal, unit_id=case.supervising_unit_id):
        raise BadRequestError(f"you do not manage unit {case.supervising_unit_id}")
    if not await conn.fetchval(sql.UNIT_OF_KIND, case.supervising_unit_id, "police"):
        raise BadRequestError(f"unit {case.supervising_unit_id} is not a police unit")
    if await conn.fetchrow(sql.SELECT_PERSON, case.person_id, *scope_args(principal)) is None:
        raise BadRequestError(f"no person {case.person_id} in your scope")
    await _check_units(
        conn=conn,
        procuratorate=case.procuratorate_unit_id,
        prosecutor=case.prosecutor_user_id,
    )
    async with conn.transaction():
        row: asyncpg.Record | None = await conn.fetchrow(
            sql.INSERT_CASE,
            case.case_number, case.person_id, case.measure, case.period_start, case.period_end,
            case.supervising_unit_id, case.procuratorate_unit_id, case.prosecutor_user_id,
            case.timezone, case.conditions, case.no_signal_limit_s, case.deciding_authority,
        )  # fmt: skip
        if row is None:
            raise ConflictError(f"case number {case.case_number} exists already")
        await conn.execute(sql.INSERT_EVENT, row["id"], principal.user_id, None, "enrolled", "")
    return row


async def amend(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, patch: CasePatch
) -> asyncpg.Record:
    """Change a case's period, prosecutor, conditions, no-signal limit or legal hold."""
    async with conn.transaction():
        current = await get_visible(
            conn=conn, principal=principal, case_id=case_id, for_update=True
        )
        start = patch.period_start or current["period_start"]
        end = patch.period_end or current["period_end"]
        if start and end and end < start:
            raise BadRequestError("period_end is before period_start")
        procuratorate = patch.procuratorate_unit_id or current["procuratorate_unit_id"]
        await _check_units(
            conn=conn,
            procuratorate=procuratorate,
            prosecutor=patch.prosecutor_user_id or current["prosecutor_user_id"],
        )
        await conn.execute(
            sql.UPDATE_CASE,
            case_id, patch.period_start, patch.period_end, patch.procuratorate_unit_id,
            patch.prosecutor_user_id, patch.conditions,
            patch.no_signal_limit_s, patch.legal_hold, patch.deciding_authority,
        )  # fmt: skip
        return await get_visible(conn=conn, principal=principal, case_id=case_id)


async def change_status(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, change: StatusChange
) -> asyncpg.Record:
    """Move a case along ``TRANSITIONS``; release ends its device assignments (409 if illegal)."""
    async with conn.transaction():
        current = await get_visible(
            conn=conn, principal=principal, case_id=case_id, for_update=True
        )
        before = CaseStatus(current["status"])
        if change.status not in TRANSITIONS[before]:
            allowed = ", ".join(sorted(TRANSITIONS[before])) or "none (final)"
            raise ConflictError(
                f"a case cannot go from {before.value} to {change.status.value}; allowed: {allowed}"
            )
        await conn.execute(sql.UPDATE_STATUS, case_id, change.status.value)
        if change.status is CaseStatus.released:
            await conn.fetch(sql.END_ASSIGNMENTS, case_id)
        await conn.execute(
            sql.INSERT_EVENT, case_id, principal.user_id, before.value, change.status.value,
            change.note,
        )  # fmt: skip
        return await get_visible(conn=conn, principal=principal, case_id=case_id)


def require_manager(principal: Principal) -> None:
    """403 unless the caller may enrol and amend cases."""
    if principal.role not in (Role.admin, Role.supervisor):
        raise ForbiddenError(f"role {principal.role.value} may not change case records")
