"""Routes of the compliance domain: the JSON report and its printable HTML rendering."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from api.auth.models import POSITION_READERS, Principal
from api.compliance import report, service
from api.compliance.models import ComplianceReport
from api.deps import PoolDep, SettingsDep, require
from api.errors import PROBLEM_RESPONSES
from api.params import CaseId, FromQuery, PurposeQuery, ToQuery, time_range

router = APIRouter(tags=["compliance"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(POSITION_READERS))]


@router.get(
    "/cases/{case_id}/compliance",
    summary="Compliance over [from, to) for a custody decision, with a green/yellow/red code",
    description="The score and its veto items are documented in api/compliance/score.py; each "
    "deducted point is listed with its reason.",
)
async def compliance(
    case_id: CaseId, pool: PoolDep, settings: SettingsDep, principal: Reader,
    range_from: FromQuery, range_to: ToQuery, purpose: PurposeQuery,
) -> ComplianceReport:  # fmt: skip
    rng = time_range(range_from, range_to)
    async with pool.acquire() as conn, conn.transaction():
        data = await service.build(
            conn=conn, principal=principal, api=settings.api, case_id=case_id, rng=rng,
            purpose=purpose, fmt="json",
        )  # fmt: skip
    return data.report


@router.get(
    "/cases/{case_id}/compliance.html",
    summary="The compliance report as one printable, self-contained HTML page with a map",
    response_class=HTMLResponse,
)
async def compliance_html(
    case_id: CaseId, pool: PoolDep, settings: SettingsDep, principal: Reader,
    range_from: FromQuery, range_to: ToQuery, purpose: PurposeQuery,
) -> HTMLResponse:  # fmt: skip
    rng = time_range(range_from, range_to)
    async with pool.acquire() as conn, conn.transaction():
        data = await service.build(
            conn=conn, principal=principal, api=settings.api, case_id=case_id, rng=rng,
            purpose=purpose, fmt="html",
        )  # fmt: skip
    return HTMLResponse(report.render_html(data))
