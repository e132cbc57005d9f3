"""Routes of the case rules domain: case readers see the rules; administrators and supervisors
add and amend them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth.models import CASE_READERS, MANAGERS, Principal
from api.cases.service import get_visible as get_case
from api.deps import PoolDep, require
from api.errors import PROBLEM_RESPONSES, NotFoundError, Responses
from api.params import CaseId, Id
from api.rules import service
from api.rules.models import RuleIn, RuleOut, RulePatch
from store import rules as sql

router = APIRouter(prefix="/cases/{case_id}/rules", tags=["rules"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(CASE_READERS))]
Manager = Annotated[Principal, Depends(require(MANAGERS))]
_INVALID: Responses = {
    422: {"description": "the engine would not accept the rule (reason in detail)"}
}


@router.get("", summary="The case's rules, oldest first")
async def list_rules(case_id: CaseId, pool: PoolDep, principal: Reader) -> list[RuleOut]:
    async with pool.acquire() as conn:
        await get_case(conn=conn, principal=principal, case_id=case_id)
        rows = await conn.fetch(sql.LIST_RULES, case_id)
    return [RuleOut.model_validate(dict(r)) for r in rows]


@router.post("", status_code=201, summary="Add a rule to the case", responses=_INVALID)
async def create_rule(case_id: CaseId, body: RuleIn, pool: PoolDep, principal: Manager) -> RuleOut:
    async with pool.acquire() as conn:
        row = await service.create(conn=conn, principal=principal, case_id=case_id, rule=body)
    return RuleOut.model_validate(dict(row))


@router.get("/{rule_id}", summary="One rule")
async def get_rule(case_id: CaseId, rule_id: Id, pool: PoolDep, principal: Reader) -> RuleOut:
    async with pool.acquire() as conn:
        await get_case(conn=conn, principal=principal, case_id=case_id)
        row = await conn.fetchrow(sql.SELECT_RULE, rule_id, case_id)
    if row is None:
        raise NotFoundError(f"no rule {rule_id} in case {case_id}")
    return RuleOut.model_validate(dict(row))


@router.patch(
    "/{rule_id}", summary="Deactivate, change validity, grace, schedule or severity",
    responses=_INVALID,
)  # fmt: skip
async def amend_rule(
    case_id: CaseId, rule_id: Id, body: RulePatch, pool: PoolDep, principal: Manager
) -> RuleOut:
    async with pool.acquire() as conn:
        row = await service.amend(
            conn=conn, principal=principal, case_id=case_id, rule_id=rule_id, patch=body
        )
    return RuleOut.model_validate(dict(row))
