"""Directory administration. An administrator manages the units, users and persons of their own
unit and every unit below it; anything outside that subtree is "not found"."""

from __future__ import annotations

import asyncio

import asyncpg

from api.auth.models import Principal
from api.auth.service import hash_password
from api.cases.service import may_manage_unit
from api.directory.models import PersonIn, UnitIn, UserIn, UserPatch
from api.errors import BadRequestError, ConflictError, NotFoundError
from store import cases, units, users


async def subtree(*, conn: asyncpg.Connection, principal: Principal) -> list[int]:
    """The ids of the caller's unit and the units below it."""
    ids: list[int] = await conn.fetchval(units.SUBTREE, principal.unit_id)
    return ids


async def create_unit(
    *, conn: asyncpg.Connection, principal: Principal, unit: UnitIn
) -> asyncpg.Record:
    if await conn.fetchrow(units.SELECT_UNIT, unit.parent_id, principal.unit_id) is None:
        raise BadRequestError(f"parent unit {unit.parent_id} is not within your units")
    row: asyncpg.Record | None = await conn.fetchrow(
        units.INSERT_UNIT, unit.code, unit.name, unit.kind, unit.parent_id, unit.timezone
    )
    if row is None:
        raise ConflictError(f"unit code {unit.code} exists already")
    return row


async def create_user(
    *, conn: asyncpg.Connection, principal: Principal, user: UserIn
) -> asyncpg.Record:
    """A user with an argon2 hash of the initial password (hashed off the event loop)."""
    if not await may_manage_unit(conn=conn, principal=principal, unit_id=user.unit_id):
        raise BadRequestError(f"unit {user.unit_id} is not within your units")
    hashed = await asyncio.to_thread(hash_password, user.password)
    row: asyncpg.Record | None = await conn.fetchrow(
        users.INSERT_USER, user.username, user.display_name, user.role.value, user.unit_id, hashed
    )
    if row is None:
        raise ConflictError(f"username {user.username} is taken")
    return row


async def update_user(
    *, conn: asyncpg.Connection, principal: Principal, user_id: int, patch: UserPatch
) -> asyncpg.Record:
    """Deactivate/reactivate, rename or reset the password of a user within the subtree."""
    if user_id == principal.user_id and patch.active is False:
        raise BadRequestError("you cannot deactivate yourself")
    hashed = await asyncio.to_thread(hash_password, patch.password) if patch.password else None
    row: asyncpg.Record | None = await conn.fetchrow(
        users.UPDATE_USER, user_id, await subtree(conn=conn, principal=principal), patch.active,
        patch.display_name, hashed,
    )  # fmt: skip
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    return row


async def create_person(
    *, conn: asyncpg.Connection, principal: Principal, person: PersonIn
) -> asyncpg.Record:
    """Register a person in the caller's unit (visible to it until a case makes it visible to
    the case's readers too)."""
    row: asyncpg.Record = await conn.fetchrow(
        cases.INSERT_PERSON, person.full_name, person.id_number, person.birth_date, person.phone,
        person.address, principal.unit_id,
    )  # fmt: skip
    return row
