"""Routes of the directory: units and users (administrators, within their subtree) and persons
(case readers see the persons of their cases; managers register them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.models import CASE_READERS, MANAGERS, Principal, Role
from api.cases.service import scope_args
from api.deps import PoolDep, require
from api.directory import service
from api.directory.models import (
    PersonIn,
    PersonOut,
    UnitIn,
    UnitKind,
    UnitOut,
    UnitPatch,
    UserIn,
    UserOut,
    UserPatch,
)
from api.errors import PROBLEM_RESPONSES, NotFoundError, Responses
from api.pagination import CursorQuery, LimitQuery, Page, decode, page
from api.params import Id
from store import cases, units, users

router = APIRouter(responses=PROBLEM_RESPONSES)

Admin = Annotated[Principal, Depends(require({Role.admin}))]
Reader = Annotated[Principal, Depends(require(CASE_READERS))]
Manager = Annotated[Principal, Depends(require(MANAGERS))]
_EXISTS: Responses = {409: {"description": "the code or username exists already"}}


@router.get("/units", tags=["units"], summary="Your unit and the units below it")
async def list_units(
    pool: PoolDep,
    principal: Admin,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    kind: Annotated[UnitKind | None, Query()] = None,
) -> Page[UnitOut]:
    rows = await pool.fetch(units.LIST_UNITS, principal.unit_id, decode(cursor), limit + 1, kind)
    return page(rows, limit, lambda r: UnitOut.model_validate(dict(r)))


@router.post(
    "/units", tags=["units"], status_code=201, responses=_EXISTS,
    summary="Create a unit below one of yours",
)  # fmt: skip
async def create_unit(body: UnitIn, pool: PoolDep, principal: Admin) -> UnitOut:
    async with pool.acquire() as conn:
        row = await service.create_unit(conn=conn, principal=principal, unit=body)
    return UnitOut.model_validate(dict(row))


@router.get("/units/{unit_id}", tags=["units"], summary="One unit")
async def get_unit(unit_id: Id, pool: PoolDep, principal: Admin) -> UnitOut:
    row = await pool.fetchrow(units.SELECT_UNIT, unit_id, principal.unit_id)
    if row is None:
        raise NotFoundError(f"no unit {unit_id}")
    return UnitOut.model_validate(dict(row))


@router.patch("/units/{unit_id}", tags=["units"], summary="Rename a unit or change its zone")
async def amend_unit(unit_id: Id, body: UnitPatch, pool: PoolDep, principal: Admin) -> UnitOut:
    row = await pool.fetchrow(
        units.UPDATE_UNIT, unit_id, principal.unit_id, body.name, body.timezone
    )
    if row is None:
        raise NotFoundError(f"no unit {unit_id}")
    return UnitOut.model_validate(dict(row))


@router.get("/users", tags=["users"], summary="Users of your units, newest first")
async def list_users(
    pool: PoolDep,
    principal: Admin,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    role: Annotated[Role | None, Query()] = None,
) -> Page[UserOut]:
    async with pool.acquire() as conn:
        ids = await service.subtree(conn=conn, principal=principal)
        rows = await conn.fetch(
            users.LIST_USERS, ids, decode(cursor), limit + 1, role.value if role else None
        )
    return page(rows, limit, lambda r: UserOut.model_validate(dict(r)))


@router.post(
    "/users", tags=["users"], status_code=201, responses=_EXISTS,
    summary="Create a user (argon2-hashed password) in one of your units",
)  # fmt: skip
async def create_user(body: UserIn, pool: PoolDep, principal: Admin) -> UserOut:
    async with pool.acquire() as conn:
        row = await service.create_user(conn=conn, principal=principal, user=body)
    return UserOut.model_validate(dict(row))


@router.get("/users/{user_id}", tags=["users"], summary="One user")
async def get_user(user_id: Id, pool: PoolDep, principal: Admin) -> UserOut:
    async with pool.acquire() as conn:
        ids = await service.subtree(conn=conn, principal=principal)
        row = await conn.fetchrow(users.SELECT_USER, user_id, ids)
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    return UserOut.model_validate(dict(row))


@router.patch(
    "/users/{user_id}", tags=["users"],
    summary="Deactivate or reactivate, rename, or reset the password",
)  # fmt: skip
async def amend_user(user_id: Id, body: UserPatch, pool: PoolDep, principal: Admin) -> UserOut:
    async with pool.acquire() as conn:
        row = await service.update_user(conn=conn, principal=principal, user_id=user_id, patch=body)
    return UserOut.model_validate(dict(row))


@router.get("/persons", tags=["persons"], summary="Persons of your cases and unit(s)")
async def list_persons(
    pool: PoolDep, principal: Reader, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> Page[PersonOut]:
    rows = await pool.fetch(cases.LIST_PERSONS, *scope_args(principal), decode(cursor), limit + 1)
    return page(rows, limit, lambda r: PersonOut.model_validate(dict(r)))


@router.post("/persons", tags=["persons"], status_code=201, summary="Register a person")
async def create_person(body: PersonIn, pool: PoolDep, principal: Manager) -> PersonOut:
    async with pool.acquire() as conn:
        row = await service.create_person(conn=conn, principal=principal, person=body)
    return PersonOut.model_validate(dict(row))


@router.get("/persons/{person_id}", tags=["persons"], summary="One person")
async def get_person(person_id: Id, pool: PoolDep, principal: Reader) -> PersonOut:
    row = await pool.fetchrow(cases.SELECT_PERSON, person_id, *scope_args(principal))
    if row is None:
        raise NotFoundError(f"no person {person_id}")
    return PersonOut.model_validate(dict(row))
