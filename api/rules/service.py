"""Case rules: every rule is checked by constructing the engine's own ``geofence.models.Rule``,
so the API accepts exactly what the engine can evaluate (422 with the engine's reason)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from api.auth.models import Principal
from api.cases.service import get_visible as get_case
from api.cases.service import scope_args
from api.errors import ApiError, BadRequestError, NotFoundError
from api.params import utc
from api.rules.models import GraceIn, RuleIn, RulePatch, ScheduleIn
from geofence.device import DEVICE_KINDS, device_rule
from geofence.errors import RuleError
from geofence.models import Rule, RuleKind
from store import rules as sql
from store import zones


class InvalidRuleError(ApiError):
    status = 422
    title = "Invalid rule"


def _aware(value: datetime | None, name: str) -> datetime | None:
    return None if value is None else utc(value, name)


def _check(
    kind: RuleKind,
    *,
    zone_id: int | None,
    grace: GraceIn,
    schedule: ScheduleIn | None,
    params: dict[str, Any],
    valid_from: datetime | None,
    valid_to: datetime | None,
) -> None:
    """Raise 422 unless the engine accepts the rule as given."""
    try:
        rule = Rule(
            0, 0, kind, zone_id=zone_id, grace=grace.to_engine(),
            schedule=schedule.to_engine() if schedule else None, valid_from=valid_from,
            valid_to=valid_to, params=params,
        )  # fmt: skip
        for name in (
            "min_distance_m",
            "no_signal_after_s",
            "battery_critical_pct",
            "max_speed_mps",
        ):
            rule.number(name, 1.0)
        if kind in DEVICE_KINDS:
            device_rule(0, kind, params, valid_from=valid_from, valid_to=valid_to)
    except RuleError as exc:
        raise InvalidRuleError(str(exc)) from exc
    if not kind.needs_zone and zone_id is not None:
        raise InvalidRuleError(f"a {kind.value} rule takes no zone")


async def create(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, rule: RuleIn
) -> asyncpg.Record:
    """Add a rule to a case the caller manages; its zone must be one the caller sees."""
    valid_from = _aware(rule.valid_from, "valid_from")
    valid_to = _aware(rule.valid_to, "valid_to")
    _check(
        rule.kind, zone_id=rule.zone_id, grace=rule.grace, schedule=rule.schedule,
        params=rule.params, valid_from=valid_from, valid_to=valid_to,
    )  # fmt: skip
    async with conn.transaction():
        await get_case(conn=conn, principal=principal, case_id=case_id, for_update=True)
        if rule.zone_id is not None and not await conn.fetchrow(
            zones.SELECT_VISIBLE, rule.zone_id, *scope_args(principal)
        ):
            raise BadRequestError(f"no zone {rule.zone_id} in your scope")
        row: asyncpg.Record = await conn.fetchrow(
            sql.INSERT_RULE, case_id, rule.kind.value, rule.zone_id, rule.grace.model_dump(),
            rule.schedule.model_dump() if rule.schedule else None, rule.params,
            rule.severity.value if rule.severity else None, valid_from, valid_to,
        )  # fmt: skip
        return row


async def amend(
    *, conn: asyncpg.Connection, principal: Principal, case_id: int, rule_id: int, patch: RulePatch
) -> asyncpg.Record:
    """Deactivate, re-time or re-tune a rule; the result must still be a rule the engine takes."""
    valid_from = _aware(patch.valid_from, "valid_from")
    valid_to = _aware(patch.valid_to, "valid_to")
    async with conn.transaction():
        await get_case(conn=conn, principal=principal, case_id=case_id)
        current = await conn.fetchrow(sql.SELECT_RULE_FOR_UPDATE, rule_id, case_id)
        if current is None:
            raise NotFoundError(f"no rule {rule_id} in case {case_id}")
        try:
            kind = RuleKind(current["kind"])
            grace = patch.grace or GraceIn.model_validate(current["grace"])
            schedule = patch.schedule or (
                ScheduleIn.model_validate(current["schedule"]) if current["schedule"] else None
            )
        except ValueError as exc:
            raise InvalidRuleError(f"rule {rule_id} as stored cannot be amended: {exc}") from exc
        _check(
            kind, zone_id=current["zone_id"], grace=grace, schedule=schedule,
            params=current["params"], valid_from=valid_from or current["valid_from"],
            valid_to=valid_to or current["valid_to"],
        )  # fmt: skip
        row: asyncpg.Record = await conn.fetchrow(
            sql.UPDATE_RULE, rule_id, case_id,
            patch.grace.model_dump() if patch.grace else None,
            patch.schedule.model_dump() if patch.schedule else None,
            patch.severity.value if patch.severity else None, patch.active, valid_to, valid_from,
        )  # fmt: skip
        return row
