"""Routes of the alerts domain: police and supervisors act on their unit's alerts; prosecutors
read the alerts of their cases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from alerts.lifecycle import AlertStatus
from api.alerts import service
from api.alerts.models import AlertDetail, AlertOut, Resolution
from api.auth.models import OFFICERS, POSITION_READERS, Principal
from api.cases.service import scope_args
from api.deps import PoolDep, SettingsDep, require
from api.errors import PROBLEM_RESPONSES, Responses
from api.pagination import CursorQuery, LimitQuery, Page, decode, page
from api.params import MAX_ID, Id, utc
from geofence.models import Severity
from store import alerts as sql

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(POSITION_READERS))]
Officer = Annotated[Principal, Depends(require(OFFICERS))]
_CONFLICT: Responses = {
    409: {"description": "the alert's status does not allow this (reason in detail)"}
}


def _out(row: Any) -> AlertOut:
    return AlertOut.model_validate(dict(row))


@router.get("", summary="Alerts in the caller's scope, newest first")
async def list_alerts(
    pool: PoolDep,
    principal: Reader,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    status: Annotated[AlertStatus | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=64, description="rule kind")] = None,
    severity: Annotated[Severity | None, Query()] = None,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: Annotated[datetime | None, Query(description="opened at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="opened before (ISO 8601)")] = None,
) -> Page[AlertOut]:
    rows = await pool.fetch(
        sql.LIST_VISIBLE, *scope_args(principal), decode(cursor), limit + 1,
        status.value if status else None, kind, severity.value if severity else None, case_id,
        utc(since, "since") if since else None, utc(until, "until") if until else None,
    )  # fmt: skip
    return page(rows, limit, _out)


@router.get("/{alert_id}", summary="One alert with its timeline")
async def get_alert(alert_id: Id, pool: PoolDep, principal: Reader) -> AlertDetail:
    async with pool.acquire() as conn:
        return await service.detail(conn=conn, principal=principal, alert_id=alert_id)


@router.post(
    "/{alert_id}/acknowledge", summary="Acknowledge an open alert (open -> acknowledged)",
    responses=_CONFLICT,
)  # fmt: skip
async def acknowledge(alert_id: Id, pool: PoolDep, principal: Officer) -> AlertDetail:
    async with pool.acquire() as conn:
        return await service.acknowledge(conn=conn, principal=principal, alert_id=alert_id)


@router.post(
    "/{alert_id}/resolve",
    summary="Resolve with a disposition and a note (from open: acknowledged implicitly)",
    description=(
        "Resolving an alert whose condition is still going on (the wearer still in the zone) "
        "is allowed and recorded as such; the answer's ``notice`` says that a new alert of the "
        "same episode opens if the condition lasts ``realert_after_s`` more (and meets its "
        "rule's grace again). The resolved alert takes no more evidence."
    ),
    responses=_CONFLICT,
)
async def resolve(
    alert_id: Id,
    body: Resolution,
    pool: PoolDep,
    principal: Officer,
    settings: SettingsDep,
) -> AlertDetail:
    async with pool.acquire() as conn:
        return await service.resolve(
            conn=conn, principal=principal, alert_id=alert_id, resolution=body,
            realert_after_s=settings.alerts.realert_after_s,
        )  # fmt: skip
