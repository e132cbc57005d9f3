"""Routes of the compliance domain: the JSON report and its printable HTML and PDF renderings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.auth.models import POSITION_READERS, Principal
from api.compliance import integrity, printing, service
from api.compliance.i18n import Lang
from api.compliance.models import ComplianceReport
from api.deps import PoolDep, SettingsDep, require
from api.errors import PROBLEM_RESPONSES
from api.params import CaseId, FromQuery, PurposeQuery, ToQuery, time_range

router = APIRouter(tags=["compliance"], responses=PROBLEM_RESPONSES)

Reader = Annotated[Principal, Depends(require(POSITION_READERS))]
LangQuery = Annotated[Lang, Query(description="language of the printed report: zh (default) or en")]
#: Response headers of a printed report: the SHA-256 of the document's bytes (also kept in the
#: access log) and of the data it was built from (printed in its footer).
DOCUMENT_HASH_HEADER = "X-Document-SHA256"
DATA_HASH_HEADER = "X-Report-Data-SHA256"
_HASH_HEADERS = {
    DOCUMENT_HASH_HEADER: {
        "description": "SHA-256 (hex) of the body",
        "schema": {"type": "string"},
    },
    DATA_HASH_HEADER: {
        "description": "SHA-256 (hex) of the report data (canonical JSON)",
        "schema": {"type": "string"},
    },
}


@router.get(
    "/cases/{case_id}/compliance",
    summary="Compliance over [from, to) for a custody decision, with a green/yellow/red code",
    description="The score and its veto items are documented in api/compliance/score.py; each "
    "deducted point is listed with its reason. The X-Report-Data-SHA256 header is the hash "
    "printed in the footer of the HTML/PDF report of the same range (see "
    "api/compliance/integrity.py).",
    responses={200: {"headers": {DATA_HASH_HEADER: _HASH_HEADERS[DATA_HASH_HEADER]}}},
)
async def compliance(
    case_id: CaseId, pool: PoolDep, settings: SettingsDep, principal: Reader,
    range_from: FromQuery, range_to: ToQuery, purpose: PurposeQuery, response: Response,
) -> ComplianceReport:  # fmt: skip
    rng = time_range(range_from, range_to)
    async with pool.acquire() as conn, conn.transaction():
        data = await service.build(
            conn=conn, principal=principal, api=settings.api, case_id=case_id, rng=rng,
            purpose=purpose, fmt="json",
        )  # fmt: skip
    response.headers[DATA_HASH_HEADER] = integrity.report_sha256(data.report)
    return data.report


async def _printed(
    fmt: printing.Format, case_id: int, pool: PoolDep, settings: SettingsDep,
    principal: Principal, range_from: FromQuery, range_to: ToQuery, purpose: str, lang: Lang,
) -> Response:  # fmt: skip
    rng = time_range(range_from, range_to)
    async with pool.acquire() as conn, conn.transaction():
        doc = await printing.produce(
            conn=conn, principal=principal, api=settings.api, case_id=case_id, rng=rng,
            purpose=purpose, fmt=fmt, lang=lang,
        )  # fmt: skip
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    headers = {DOCUMENT_HASH_HEADER: doc.document_sha256, DATA_HASH_HEADER: doc.data_sha256}
    if fmt == "pdf":
        headers["Content-Disposition"] = f'inline; filename="compliance-case-{case_id}.pdf"'
    return Response(doc.body, media_type=media, headers=headers)


@router.get(
    "/cases/{case_id}/compliance.html",
    summary="The compliance report as one printable, self-contained HTML page with maps",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "headers": _HASH_HEADERS}},
)
async def compliance_html(
    case_id: CaseId, pool: PoolDep, settings: SettingsDep, principal: Reader,
    range_from: FromQuery, range_to: ToQuery, purpose: PurposeQuery, lang: LangQuery = "zh",
) -> Response:  # fmt: skip
    return await _printed(
        "html", case_id, pool, settings, principal, range_from, range_to, purpose, lang
    )


@router.get(
    "/cases/{case_id}/compliance.pdf",
    summary="The compliance report as PDF (the same page as the HTML), for the case file",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "headers": _HASH_HEADERS}},
)
async def compliance_pdf(
    case_id: CaseId, pool: PoolDep, settings: SettingsDep, principal: Reader,
    range_from: FromQuery, range_to: ToQuery, purpose: PurposeQuery, lang: LangQuery = "zh",
) -> Response:  # fmt: skip
    return await _printed(
        "pdf", case_id, pool, settings, principal, range_from, range_to, purpose, lang
    )
